# A small cache in front of CPython's arena allocator, for the frame-stack
# chunks each greenlet gets, and small first chunks for geventc's greenlets.
#
# On CPython 3.11+ every greenlet that starts maps a fresh 16 KiB data-stack
# chunk (_PyObject_VirtualAlloc -> mmap) and unmaps it when it dies: about
# 7 us of kernel time per spawn, the largest part of spawn's cost. Keeping a
# few freed chunks for reuse removes the syscalls and page faults. pymalloc's
# own arenas (1 MiB) have a different size and pass straight through. Both
# callbacks run with the GIL held, as CPython requires of this allocator.
#
# Memory: the frames of a greenlet blocked in a handler are a few hundred
# bytes, but its 16 KiB chunk is a page of RSS of its own (4 KiB) for as long
# as it lives: at 10,000 connections, 80 MB. So a Greenlet that runs a Python
# function starts with a 2 KiB chunk of ours (from malloc: two to a page),
# made its thread state's first chunk the way CPython makes one
# (_seed_frame_stack). Frames beyond it go to a regular chunk, which CPython
# links and frees as always; our chunk comes back through the free callback
# below, told apart by its size, when greenlet frees the finished greenlet's
# chunks.

from cpython.function cimport PyFunction_Check
from cpython.method cimport PyMethod_Check, PyMethod_GET_FUNCTION
from geventc.includes.python cimport (
    PyObjectArenaAllocator, PyObject_GetArenaAllocator, PyObject_SetArenaAllocator,
    PyMem_RawMalloc, PyMem_RawFree,
    GEVENTC_HAS_FRAME_STACK, geventc_frame_stack_empty, geventc_frame_stack_set_root)

cdef enum:
    _CHUNK_SIZE = 16 * 1024     # CPython's DATA_STACK_CHUNK_SIZE
    _CHUNK_CACHE_MAX = 512      # at most 8 MiB kept for reuse
    # Our first chunks: no size CPython asks the arena allocator for (its
    # chunks are multiples of 16 KiB, pymalloc's arenas 1 MiB).
    _ROOT_CHUNK_SIZE = 2048
    _ROOT_CACHE_MAX = 1024      # at most 2 MiB kept for reuse

cdef PyObjectArenaAllocator _base_arena
cdef void* _chunk_cache[_CHUNK_CACHE_MAX]
cdef int _chunk_cached = 0
cdef void* _root_cache[_ROOT_CACHE_MAX]
cdef int _root_cached = 0


cdef void* _cached_arena_alloc(void* ctx, size_t size) noexcept nogil:
    global _chunk_cached
    if size == _CHUNK_SIZE and _chunk_cached > 0:
        _chunk_cached -= 1
        return _chunk_cache[_chunk_cached]
    return _base_arena.alloc(_base_arena.ctx, size)


cdef void _cached_arena_free(void* ctx, void* ptr, size_t size) noexcept nogil:
    global _chunk_cached, _root_cached
    if size == _ROOT_CHUNK_SIZE:
        if _root_cached < _ROOT_CACHE_MAX:
            _root_cache[_root_cached] = ptr
            _root_cached += 1
        else:
            PyMem_RawFree(ptr)
        return
    if size == _CHUNK_SIZE and _chunk_cached < _CHUNK_CACHE_MAX and ptr != NULL:
        _chunk_cache[_chunk_cached] = ptr
        _chunk_cached += 1
        return
    _base_arena.free(_base_arena.ctx, ptr, size)


cdef int _install_chunk_cache() except -1:
    cdef PyObjectArenaAllocator mine
    PyObject_GetArenaAllocator(&_base_arena)
    if _base_arena.alloc == NULL:
        return 0
    mine.ctx = NULL
    mine.alloc = _cached_arena_alloc
    mine.free = _cached_arena_free
    PyObject_SetArenaAllocator(&mine)
    return 0


cdef inline void _seed_frame_stack(object func) noexcept:
    """Give the greenlet about to call *func* a small first frame-stack chunk.

    Only when *func* is Python code (a C function may never need a frame, and
    then the chunk would be a cost), while the thread state has no chunk yet
    (nothing has run Python code in this greenlet) and while our allocator is
    the one installed: the chunk must come back to _cached_arena_free."""
    global _root_cached
    cdef PyObjectArenaAllocator current
    cdef void* chunk
    if not GEVENTC_HAS_FRAME_STACK:
        return
    if PyMethod_Check(func):
        func = <object>PyMethod_GET_FUNCTION(func)
    if not PyFunction_Check(func) or not geventc_frame_stack_empty():
        return
    PyObject_GetArenaAllocator(&current)
    if current.free != _cached_arena_free:
        return
    if _root_cached > 0:
        _root_cached -= 1
        chunk = _root_cache[_root_cached]
    else:
        chunk = PyMem_RawMalloc(_ROOT_CHUNK_SIZE)
        if chunk == NULL:
            return      # CPython maps its own chunk, as without us
    geventc_frame_stack_set_root(chunk, _ROOT_CHUNK_SIZE)
