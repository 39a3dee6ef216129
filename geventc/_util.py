"""Internal helpers (gevent's ``gevent._util``) and the process-level
``shutdown`` (``fork`` lives in :mod:`geventc.os`).

Nothing here imports threading or functools at module level: monkey-patching
must be able to import this before the modules it patches.
"""
from geventc._hub import _get_hub


class _NoneMarker(object):
    """A default value meaning "not given" where ``None`` is a valid value.

    Never pass it to an API."""
    __slots__ = ()

    def __repr__(self):
        return '<default value>'


_NONE = _NoneMarker()

WRAPPER_ASSIGNMENTS = ('__module__', '__name__', '__qualname__', '__doc__', '__annotations__')
WRAPPER_UPDATES = ('__dict__',)


def update_wrapper(wrapper, wrapped, assigned=WRAPPER_ASSIGNMENTS, updated=WRAPPER_UPDATES):
    """``functools.update_wrapper`` without importing functools (it imports
    ``_thread.RLock``, which monkey-patching may not have replaced yet)."""
    for attr in assigned:
        try:
            value = getattr(wrapped, attr)
        except AttributeError:
            continue
        setattr(wrapper, attr, value)
    for attr in updated:
        getattr(wrapper, attr).update(getattr(wrapped, attr, {}))
    # Last, so a __wrapped__ in wrapped.__dict__ does not win.
    wrapper.__wrapped__ = wrapped
    return wrapper


def import_threading_here():
    """Import :mod:`threading` in the calling thread unless it is imported.

    threading takes the thread that imports it first for the main thread
    (``threading._shutdown`` then waits for the real one forever). ``import
    geventc`` leaves it alone (issue 12), so geventc calls this before it
    starts a native thread, which might import it (a warning, a traceback)."""
    import sys
    if 'threading' not in sys.modules:
        import threading  # noqa: F401


def copy_globals(source, globs, only_names=None, ignore_missing_names=False,
                 names_to_ignore=(), dunder_names_to_keep=('__implements__', '__all__', '__imports__'),
                 cleanup_globs=True):
    """Copy *source* module's attributes into *globs* (a facade's ``globals()``).

    Names starting with ``__`` are skipped unless in *dunder_names_to_keep*;
    so are *names_to_ignore*. With *only_names*, only those are copied (a
    missing one raises AttributeError unless *ignore_missing_names*). With
    *cleanup_globs*, ``copy_globals`` itself is removed from *globs*.

    Returns the copied names (the facade's ``__imports__``)."""
    if only_names:
        if ignore_missing_names:
            items = [(name, getattr(source, name, _NONE)) for name in only_names]
        else:
            items = [(name, getattr(source, name)) for name in only_names]
    else:
        items = list(source.__dict__.items())
    copied = []
    for name, value in items:
        if value is _NONE or name in names_to_ignore:
            continue
        if name.startswith('__') and name not in dunder_names_to_keep:
            continue
        globs[name] = value
        copied.append(name)
    if cleanup_globs:
        globs.pop('copy_globals', None)
    return copied


def import_c_accel(globs, cname):
    """gevent swaps a module's globals for its C accelerator's here.

    geventc's modules are the compiled ones already: nothing to swap."""


class Lazy(object):
    """Like ``@property``, but the value is computed once per instance and
    then stored in the instance's ``__dict__`` (so later reads skip this)."""

    def __init__(self, func):
        self.data = (func, func.__name__)
        update_wrapper(self, func)

    def __get__(self, inst, class_):
        if inst is None:
            return self
        func, name = self.data
        value = func(inst)
        inst.__dict__[name] = value
        return value


class readproperty(object):
    """Like ``@property``, but assigning to the attribute stores the value in
    the instance (no setter needed), which then shadows the function."""

    def __init__(self, func):
        self.func = func
        update_wrapper(self, func)

    def __get__(self, inst, class_):
        if inst is None:
            return self
        return self.func(inst)


class LazyOnClass(object):
    """Like :class:`Lazy`, but the value is stored on the class: computed at
    the first use by any instance, shared by all of them."""

    @classmethod
    def lazy(cls, cls_dict, func):
        """Put a LazyOnClass for *func* in *cls_dict* under *func*'s name."""
        cls_dict[func.__name__] = cls(func)

    def __init__(self, func, name=None):
        self.name = name or func.__name__
        self.func = func

    def __get__(self, inst, klass):
        if inst is None:
            return self
        value = self.func(inst)
        setattr(klass, self.name, value)
        return value


def gmctime():
    """The current UTC time as an RFC 3339 string."""
    import time
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def shutdown():
    """The 0.13 ``gevent.shutdown``: run what is pending until the loop has
    nothing left, then destroy the current thread's hub and its loop."""
    hub = _get_hub()
    if hub is None:
        return
    if not hub.dead:
        hub.join()
    hub.destroy(destroy_loop=True)
