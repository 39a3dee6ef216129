# cython: auto_pickle=False
"""Greenlet-local objects, compiled (re-exported by ``geventc.local``).

Design notes
------------
* Each ``local`` keeps ``{id(greenlet): entry}``; an entry holds a weak
  reference to its greenlet and that greenlet's attribute dict. The last
  entry used is cached, so repeated access from one greenlet is a pointer
  compare and a dict lookup (the weak reference makes the compare safe
  against a new greenlet reusing a dead one's address).
* A greenlet's dict goes away when the greenlet dies: a gevent Greenlet
  calls a rawlinked cleanup at death; any other greenlet, a weakref
  callback when it is freed. The cleanup holds the local only weakly, and
  a dying local unlinks its cleanups from live Greenlets.
* Attribute access follows gevent's rules: a plain ``local`` reads and
  writes the greenlet's dict directly; a subclass honours data
  descriptors (properties, ``__slots__``, which are shared by all
  greenlets), non-data descriptors (methods) and class attributes,
  using descriptor tables computed when the instance is created, as
  gevent does. A subclass's ``__init__`` runs again, with the original
  arguments, the first time each other greenlet touches the object.
"""

cimport cython
from cpython.ref cimport PyObject
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.weakref cimport PyWeakref_GET_OBJECT
from geventc.includes.greenlet cimport greenlet, PyGreenlet_Import, PyGreenlet_GetCurrent

from copy import copy as _copy
from weakref import ref as _weakref

PyGreenlet_Import()

__all__ = ['local']

cdef object _object_init = object.__init__
cdef object _object_getattribute = object.__getattribute__


# no_gc_clear: _get_dict() reads an entry's weakref without a None check;
# a collector clearing a cycle through a greenlet's dict must not leave
# an entry with cleared fields behind.
@cython.final
@cython.no_gc_clear
@cython.freelist(64)
cdef class _LocalEntry:
    pass


@cython.final
@cython.freelist(64)
cdef class _LocalCleanup:
    # Called with the dead Greenlet (rawlink) or the dead weakref (plain
    # greenlets); holds the local weakly.
    cdef object wrlocal
    cdef object key

    def __call__(self, _unused):
        loc = self.wrlocal()
        if loc is not None:
            (<local>loc)._remove_entry(self.key, self)


cdef tuple _find_descriptors(type_self):
    # gevent's tables: which names of the type are descriptors with
    # __get__, __delete__ (also "set or del"), __set__.
    cdef set gets = set(), dels = set(), set_or_del = set(), sets = set()
    mro = type_self.mro()
    for attr_name in dir(type_self):
        # Walk the MRO dicts rather than getattr(): some descriptors do
        # not return themselves from the class.
        for base in mro:
            bd = base.__dict__
            if attr_name in bd:
                attr = bd[attr_name]
                break
        else:
            raise AttributeError(attr_name)
        type_attr = type(attr)
        if hasattr(type_attr, '__get__'):
            gets.add(attr_name)
        if hasattr(type_attr, '__delete__'):
            dels.add(attr_name)
            set_or_del.add(attr_name)
        if hasattr(type_attr, '__set__'):
            sets.add(attr_name)
    return (gets, dels, set_or_del, sets, set(dir(type_self)))


# The plain type cannot change: compute its tables once.
cdef tuple _plain_tables = None


@cython.no_gc_clear
cdef class local:
    """An object whose attributes are local to the greenlet using it.

    Subclass it to give defaults, methods and an ``__init__``; the
    ``__init__`` runs again (with the same arguments) in each greenlet
    that touches the object. ``__slots__`` of a subclass are shared.
    """

    def __cinit__(self, *args, **kw):
        global _plain_tables
        cdef tuple tables
        cls = type(self)
        if args or kw:
            if cls.__init__ is _object_init:
                raise TypeError('Initialization arguments are not supported', args, kw)
        self._localargs = args
        self._localkwargs = kw
        self._dicts = {}
        self._local_type = cls
        self._plain = cls is local
        self._has_init = cls.__init__ is not _object_init
        if self._plain:
            if _plain_tables is None:
                _plain_tables = _find_descriptors(cls)
            tables = _plain_tables
        else:
            tables = _find_descriptors(cls)
        self._type_get_descriptors = tables[0]
        self._type_del_descriptors = tables[1]
        self._type_set_or_del_descriptors = tables[2]
        self._type_set_descriptors = tables[3]
        self._type_vars = tables[4]
        # This greenlet's dict exists before __init__ runs, so that
        # __init__ is not run a second time for it.
        glet = PyGreenlet_GetCurrent()
        self._create_entry(glet, id(glet))

    def __dealloc__(self):
        # Take our cleanups off Greenlets that outlive us.
        cdef _LocalEntry entry
        if self._dicts is None:
            return
        for entry in self._dicts.values():
            if entry.linked:
                glet = entry.wrgreenlet()
                if glet is not None:
                    try:
                        glet.unlink(entry.cleanup)
                    except BaseException:
                        pass

    # -- the per-greenlet dicts ----------------------------------------------------

    cdef _LocalEntry _create_entry(self, object glet, object key):
        cdef _LocalEntry entry = _LocalEntry.__new__(_LocalEntry)
        cdef _LocalCleanup cleanup = _LocalCleanup.__new__(_LocalCleanup)
        if self._wrself is None:
            self._wrself = _weakref(self)
        cleanup.wrlocal = self._wrself
        cleanup.key = key
        rawlink = getattr(glet, 'rawlink', None)
        if rawlink is not None:
            # A gevent Greenlet: drop the dict as soon as it dies.
            rawlink(cleanup)
            entry.wrgreenlet = _weakref(glet)
            entry.linked = True
        else:
            entry.wrgreenlet = _weakref(glet, cleanup)
        entry.localdict = {}
        entry.cleanup = cleanup
        self._dicts[key] = entry
        self._last = entry
        return entry

    cdef int _remove_entry(self, object key, object cleanup) except -1:
        cdef PyObject* found = PyDict_GetItem(self._dicts, key)
        cdef _LocalEntry entry
        if found == NULL:
            return 0
        entry = <_LocalEntry>found
        if entry.cleanup is not cleanup:
            return 0
        del self._dicts[key]
        if self._last is entry:
            self._last = None
        return 0

    cdef dict _get_dict(self):
        cdef object glet = PyGreenlet_GetCurrent()
        cdef _LocalEntry entry = self._last
        cdef PyObject* found
        if entry is not None and PyWeakref_GET_OBJECT(entry.wrgreenlet) == <PyObject*>glet:
            return entry.localdict
        key = id(glet)
        found = PyDict_GetItem(self._dicts, key)
        if found != NULL:
            entry = <_LocalEntry>found
            if PyWeakref_GET_OBJECT(entry.wrgreenlet) == <PyObject*>glet:
                self._last = entry
                return entry.localdict
        # First use in this greenlet (or a stale entry of a dead one whose
        # cleanup has not run yet).
        entry = self._create_entry(glet, key)
        if self._has_init:
            self._local_type.__init__(self, *self._localargs, **self._localkwargs)
        return entry.localdict

    # -- attribute access ------------------------------------------------------------

    def __getattribute__(self, name):
        cdef dict dct
        cdef PyObject* found
        if self._plain:
            dct = self._get_dict()
            found = PyDict_GetItem(dct, name)
            if found != NULL:
                return <object>found
            if name == '__dict__':
                return dct
            return _object_getattribute(self, name)
        if name == '__class__':
            # Without running a subclass's __init__ for a new greenlet.
            return _object_getattribute(self, name)
        dct = self._get_dict()
        if name == '__dict__':
            return dct
        type_self = self._local_type
        found = PyDict_GetItem(dct, name)
        if found != NULL:
            if name not in self._type_vars or name not in self._type_get_descriptors:
                # Nothing (or no descriptor) in the type: the instance wins.
                return <object>found
            if name in self._type_set_or_del_descriptors:
                # A data descriptor in the type wins.
                type_attr = getattr(type_self, name)
                return type(type_attr).__get__(type_attr, self, type_self)
            # A non-data descriptor: the instance wins.
            return <object>found
        if name in self._type_vars:
            if name not in self._type_get_descriptors:
                return getattr(type_self, name)
            for base in type_self.mro():
                bd = base.__dict__
                if name in bd:
                    attr_on_type = bd[name]
                    return type(attr_on_type).__get__(attr_on_type, self, type_self)
        # Not found: a subclass's __getattr__ (if any) is called by Python.
        raise AttributeError("%r object has no attribute '%s'" % (type_self.__name__, name))

    def __setattr__(self, name, value):
        cdef dict dct
        if name == '__dict__':
            raise AttributeError("%r object attribute '__dict__' is read-only" % (type(self),))
        dct = self._get_dict()
        if self._plain:
            PyDict_SetItem(dct, name, value)
            return
        if name in self._type_vars and name in self._type_set_descriptors:
            type_attr = getattr(self._local_type, name)
            type(type_attr).__set__(type_attr, self, value)
            return
        dct[name] = value

    def __delattr__(self, name):
        if name == '__dict__':
            raise AttributeError("%r object attribute '__dict__' is read-only" % (type(self).__name__,))
        if name in self._type_vars and name in self._type_del_descriptors:
            type_attr = getattr(self._local_type, name)
            type(type_attr).__delete__(type_attr, self)
            return
        dct = self._get_dict()
        try:
            del dct[name]
        except KeyError:
            raise AttributeError(name)

    def __copy__(self):
        """A new instance of the same type whose dict here is a copy of ours."""
        cdef _LocalEntry entry
        cdef local instance
        glet = PyGreenlet_GetCurrent()
        entry = self._dicts[id(glet)]
        duplicate = _copy(entry.localdict)
        instance = type(self)(*self._localargs, **self._localkwargs)
        entry = instance._dicts[id(glet)]
        entry.localdict = duplicate
        return instance


def all_local_dicts_for_greenlet(greenlet):
    """Internal debug helper: the ``((type, id), dict)`` pairs *greenlet* has.

    Finds the locals through the garbage collector, so it is slow."""
    import gc
    cdef local loc
    cdef _LocalEntry entry
    result = []
    key = id(greenlet)
    for obj in gc.get_objects():
        if isinstance(obj, local):
            loc = obj
            entry = loc._dicts.get(key)
            if entry is not None and entry.wrgreenlet() is greenlet:
                result.append(((type(loc), id(loc)), entry.localdict))
    return result
