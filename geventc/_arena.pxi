# A small cache in front of CPython's arena allocator, for the frame-stack
# chunks each greenlet gets.
#
# On CPython 3.11+ every greenlet that starts maps a fresh 16 KiB data-stack
# chunk (_PyObject_VirtualAlloc -> mmap) and unmaps it when it dies: about
# 7 us of kernel time per spawn, the largest part of spawn's cost. Keeping a
# few freed chunks for reuse removes the syscalls and page faults. pymalloc's
# own arenas (1 MiB) have a different size and pass straight through. Both
# callbacks run with the GIL held, as CPython requires of this allocator.

from geventc.includes.python cimport (
    PyObjectArenaAllocator, PyObject_GetArenaAllocator, PyObject_SetArenaAllocator)

cdef enum:
    _CHUNK_SIZE = 16 * 1024     # CPython's DATA_STACK_CHUNK_SIZE
    _CHUNK_CACHE_MAX = 512      # at most 8 MiB kept for reuse

cdef PyObjectArenaAllocator _base_arena
cdef void* _chunk_cache[_CHUNK_CACHE_MAX]
cdef int _chunk_cached = 0


cdef void* _cached_arena_alloc(void* ctx, size_t size) noexcept nogil:
    global _chunk_cached
    if size == _CHUNK_SIZE and _chunk_cached > 0:
        _chunk_cached -= 1
        return _chunk_cache[_chunk_cached]
    return _base_arena.alloc(_base_arena.ctx, size)


cdef void _cached_arena_free(void* ctx, void* ptr, size_t size) noexcept nogil:
    global _chunk_cached
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
