"""Make the standard library cooperative (gevent's ``gevent.monkey``).

``from geventc import monkey; monkey.patch_all()`` as early as possible
(before other imports, on the main thread, while single-threaded) replaces,
in place, the blocking parts of the standard library with geventc's
cooperative ones: sockets, DNS, ssl, select/selectors, time.sleep,
threads and their locks, os.fork/waitpid, subprocess, signal, queue.

Querying: :func:`is_module_patched`, :func:`is_object_patched`,
:func:`get_original`. Events (:mod:`geventc.events`) are sent while patching
and the ``gevent.plugins.monkey.*`` entry points are called, as gevent does;
:func:`patch_module` patches other modules the same way.

``python -m geventc.monkey [options] script|--module mod args...`` runs a
program patched (see :func:`main`).

Patching late is safer than with gevent: ``ssl`` imported first does not
lead to RecursionError, and the stdlib ``SSLContext`` that earlier imports
hold is made to wrap cooperative sockets.

After ``patch_all``, ``import gevent`` gives geventc (:mod:`geventc.alias`),
unless the real gevent was imported first: libraries that detect a patched
process by gevent's name (psycopg 3, zmq.green, engineio) then see it.
"""
import sys

__all__ = [
    'patch_all', 'patch_builtins', 'patch_dns', 'patch_os', 'patch_queue', 'patch_select',
    'patch_signal', 'patch_socket', 'patch_ssl', 'patch_subprocess', 'patch_sys',
    'patch_thread', 'patch_time',
    'get_original', 'is_module_patched', 'is_object_patched', 'patch_module',
    'main', 'MonkeyPatchWarning',
]

#: module name -> {attribute name: the original object} for what was patched
#: (not a public API, but third-party patchers use it, as with gevent's).
saved = {}

_MISSING = object()


class MonkeyPatchWarning(RuntimeWarning):
    """The warnings issued while patching."""


class _BadImplements(AttributeError):
    """A geventc module's ``__implements__`` is missing or None."""

    def __init__(self, module):
        AttributeError.__init__(
            self, 'Module %r has a bad or missing value for __implements__' % (module,))


# -- what was patched ------------------------------------------------------------

def is_module_patched(mod_name):
    """Whether anything in the standard library module *mod_name* (e.g.
    ``'socket'``) was replaced."""
    return mod_name in saved


def is_object_patched(mod_name, item_name):
    """Whether attribute *item_name* of module *mod_name* was replaced."""
    return mod_name in saved and item_name in saved[mod_name]


def is_anything_patched():
    """Whether anything was patched in this process."""
    return bool(saved)


def _save(module, attr_name, item):
    # The first original wins: patching twice must not record the patch.
    saved.setdefault(module.__name__, {}).setdefault(attr_name, item)


def _get_original(mod_name, items):
    originals = saved.get(mod_name, {})
    module = None
    values = []
    for item in items:
        if item in originals:
            values.append(originals[item])
            continue
        if module is None:
            module = __import__(mod_name)
            # __import__('a.b') is package a: walk down to the module.
            for part in mod_name.split('.')[1:]:
                module = getattr(module, part)
        values.append(getattr(module, item))
    return values


def get_original(mod_name, item_name):
    """The original (unpatched) value of *item_name* in module *mod_name*.

    *mod_name* may be a sequence of alternative module names (the first
    that imports supplies every item); *item_name* may be a sequence of
    names, and then a list of values is returned."""
    mod_names = [mod_name] if isinstance(mod_name, str) else list(mod_name)
    if isinstance(item_name, str):
        item_names, unpack = [item_name], True
    else:
        item_names, unpack = list(item_name), False
    if not mod_names:
        raise ImportError('get_original: no module name given')
    for i, name in enumerate(mod_names):
        try:
            values = _get_original(name, item_names)
        except ImportError:
            if i == len(mod_names) - 1:
                raise
            continue
        return values[0] if unpack else values


# -- patching ---------------------------------------------------------------------

def patch_item(module, attr, newitem):
    """Set ``module.attr`` to *newitem*, recording the original."""
    olditem = getattr(module, attr, _MISSING)
    if olditem is not _MISSING:
        _save(module, attr, olditem)
    setattr(module, attr, newitem)


def remove_item(module, attr):
    """Delete ``module.attr`` (if present), recording the original."""
    olditem = getattr(module, attr, _MISSING)
    if olditem is _MISSING:
        return
    _save(module, attr, olditem)
    delattr(module, attr)


def _queue_warning(message, _warnings):
    # Warnings wait until patching is over (warnings imports more modules).
    if _warnings is None:
        _process_warnings([message])
    else:
        _warnings.append(message)


def _process_warnings(_warnings):
    import warnings
    for message in _warnings:
        warnings.warn(message, MonkeyPatchWarning, stacklevel=3)


def _notify_patch(event, _warnings=None):
    # A will-patch subscriber may raise DoNotPatch: the caller handles it.
    from geventc.events import notify_and_call_entry_points
    event._warnings = _warnings
    notify_and_call_entry_points(event)


def _ignores_DoNotPatch(func):
    """Decorate a patch function: a subscriber's DoNotPatch makes it return False."""
    from geventc._util import update_wrapper

    def ignores(*args, **kwargs):
        from geventc.events import DoNotPatch
        try:
            return func(*args, **kwargs)
        except DoNotPatch:
            return False
    return update_wrapper(ignores, func)


def _call_module_hook(source_module, when, target_module, items, _warnings):
    # ``_gevent_will_monkey_patch`` (may raise DoNotPatch, may change items)
    # and ``_gevent_did_monkey_patch`` of the source module.
    hook = getattr(source_module, '_gevent_%s_monkey_patch' % (when,), None)
    if hook is not None:
        hook(target_module, items, lambda message: _queue_warning(message, _warnings))


class _GeventDoPatchRequest(object):
    """What a module's ``_gevent_do_monkey_patch(request)`` receives when it
    patches itself instead of having its ``__implements__`` copied."""

    get_original = staticmethod(get_original)

    def __init__(self, target_module, source_module, items, patch_kwargs):
        self.target_module = target_module
        self.source_module = source_module
        self.items = items
        self.patch_kwargs = patch_kwargs or {}

    def __repr__(self):
        return '<%s target=%r source=%r items=%r kwargs=%r>' % (
            type(self).__name__, self.target_module, self.source_module,
            self.items, self.patch_kwargs)

    def default_patch_items(self):
        for attr in self.items:
            patch_item(self.target_module, attr, getattr(self.source_module, attr))

    def remove_item(self, target_module, *items):
        if isinstance(target_module, str):
            items = (target_module,) + items
            target_module = self.target_module
        for item in items:
            remove_item(target_module, item)


def patch_module(target_module, source_module, items=None, _warnings=None, _patch_kwargs=None,
                 _notify_will_subscribers=True, _notify_did_subscribers=True, _call_hooks=True):
    """patch_module(target_module, source_module, items=None)

    Replace the attributes *items* (default: ``source_module.__implements__``)
    of *target_module* with *source_module*'s.

    Before: *source_module*'s ``_gevent_will_monkey_patch(target, items, warn)``
    hook, then a :class:`geventc.events.GeventWillPatchModuleEvent`; either
    raising :class:`geventc.events.DoNotPatch` cancels (returns False).
    After: ``_gevent_did_monkey_patch`` and a
    :class:`geventc.events.GeventDidPatchModuleEvent`. Returns True when patched.
    """
    from geventc import events
    if items is None:
        items = getattr(source_module, '__implements__', None)
        if items is None:
            raise _BadImplements(source_module)
    try:
        if _call_hooks:
            _call_module_hook(source_module, 'will', target_module, items, _warnings)
        if _notify_will_subscribers:
            _notify_patch(events.GeventWillPatchModuleEvent(
                target_module.__name__, source_module, target_module, items), _warnings)
    except events.DoNotPatch:
        return False
    request = _GeventDoPatchRequest(target_module, source_module, items, _patch_kwargs)
    do_patch = getattr(source_module, '_gevent_do_monkey_patch', None)
    if do_patch is None:
        request.default_patch_items()
    else:
        do_patch(request)
    if _call_hooks:
        _call_module_hook(source_module, 'did', target_module, items, _warnings)
    if _notify_did_subscribers:
        _notify_patch(events.GeventDidPatchModuleEvent(
            target_module.__name__, source_module, target_module))
    return True


def _check_availability(name):
    """``(geventc_module, target_module, target_module_name)`` for *name*
    (e.g. ``'socket'``); ImportError when either is missing."""
    import importlib
    source = importlib.import_module('geventc.' + name)
    target_name = getattr(source, '__target__', name)
    return source, importlib.import_module(target_name), target_name


def _patch_module(name, items=None, _warnings=None, _patch_kwargs=None,
                  _notify_will_subscribers=True, _notify_did_subscribers=True, _call_hooks=True):
    """Patch the standard library module *name* with ``geventc.<name>``
    (and its ``__alternate_targets__`` already imported, sharing one record)."""
    source, target, target_name = _check_availability(name)
    patch_module(target, source, items=items, _warnings=_warnings, _patch_kwargs=_patch_kwargs,
                 _notify_will_subscribers=_notify_will_subscribers,
                 _notify_did_subscribers=_notify_did_subscribers, _call_hooks=_call_hooks)
    for alternate_name in getattr(source, '__alternate_targets__', ()):
        alternate = sys.modules.get(alternate_name)
        if alternate is not None and alternate is not target:
            saved.pop(alternate_name, None)
            patch_module(alternate, source, items=items, _warnings=_warnings,
                         _notify_will_subscribers=False, _notify_did_subscribers=False,
                         _call_hooks=False)
            saved[alternate_name] = saved[target_name]
    return source, target


# -- the patch functions -------------------------------------------------------------

@_ignores_DoNotPatch
def patch_os():
    """Replace :func:`os.fork` with :func:`geventc.fork` and, on POSIX,
    :func:`os.waitpid` with :func:`geventc.os.waitpid` (unless
    ``GEVENT_NOWAITPID`` is set). Use with :func:`patch_signal` for SIGCHLD
    handling (``patch_all`` does both)."""
    _patch_module('os')


@_ignores_DoNotPatch
def patch_queue():
    """Replace ``SimpleQueue``, ``PriorityQueue``, ``LifoQueue`` and
    ``Queue`` in :mod:`queue` (``Queue`` stays the stdlib's when
    ``GEVENT_MONKEY_DISABLE_QUEUE_QUEUE`` is true)."""
    import os
    from geventc._config import validate_bool
    items = ['SimpleQueue', 'PriorityQueue', 'LifoQueue']
    if not validate_bool(os.environ.get('GEVENT_MONKEY_DISABLE_QUEUE_QUEUE', 'false')):
        items.append('Queue')
    _patch_module('queue', items=items)


@_ignores_DoNotPatch
def patch_time():
    """Replace :func:`time.sleep` with :func:`geventc.sleep`."""
    _patch_module('time')


@_ignores_DoNotPatch
def patch_contextvars():
    """Does nothing, as in gevent 26.9.0: greenlet switches the native
    context variables with each greenlet, so :mod:`contextvars` already
    gives every greenlet its own context."""
    return


@_ignores_DoNotPatch
def patch_builtins():
    """Does nothing, as in gevent 26.9.0: Python 3's import locks are per
    module and greenlet-safe."""


@_ignores_DoNotPatch
def patch_sys(stdin=True, stdout=True, stderr=True):
    """Make ``sys.stdin``, ``sys.stdout`` and ``sys.stderr`` cooperative: their
    reads and writes run in the hub's thread pool
    (:class:`geventc.fileobject.FileObjectThread`), so a greenlet waiting for
    a line of input does not stop the others. ``patch_all(sys=True)`` calls it.

    gevent 26.9.0 made this a no-op because the interpreter's final flush of
    stdout and stderr then needed the thread pool and hung; here the
    original streams are put back (and flushed) when the interpreter begins
    to exit, so the final flush is a plain one."""
    from geventc.fileobject import FileObjectThread
    patched = False
    for name, wanted in (('stdin', stdin), ('stdout', stdout), ('stderr', stderr)):
        original = getattr(sys, name)
        if wanted and original is not None and not isinstance(original, FileObjectThread):
            patch_item(sys, name, FileObjectThread(original, close=False))
            patched = True
    if patched:
        _restore_sys_streams_at_exit()


_sys_streams_restorer = []


def _restore_sys_streams_at_exit():
    if _sys_streams_restorer:
        return
    import atexit

    def restore():
        originals = saved.get('sys', {})
        for name in ('stdin', 'stdout', 'stderr'):
            original = originals.get(name)
            if original is None:
                continue
            current = getattr(sys, name)
            try:
                current.flush()
            except Exception:  # a closed pipe: the plain flush below says so
                pass
            setattr(sys, name, original)
    atexit.register(restore)
    _sys_streams_restorer.append(restore)


@_ignores_DoNotPatch
def patch_thread(threading=True, _threading_local=True, Event=True, logging=True,
                 existing_locks=True, _warnings=None):
    """patch_thread(threading=True, _threading_local=True, Event=True, logging=True, existing_locks=True) -> None

    Make :mod:`_thread` (and, with *threading*, :mod:`threading`) greenlet
    based: new "threads" are greenlets, locks are geventc's. With *Event*,
    ``threading.Event`` is :class:`geventc.event.Event`; with
    *_threading_local*, ``_threading_local.local`` is :class:`geventc.local.local`;
    with *logging*, the locks of already configured logging handlers are
    replaced; with *existing_locks*, locks already held by this (single)
    thread stay releasable."""
    from geventc._patch_thread import patch_thread as _patch_thread
    _patch_thread(threading=threading, _threading_local=_threading_local, Event=Event,
                  logging=logging, existing_locks=existing_locks, _warnings=_warnings)


@_ignores_DoNotPatch
def patch_socket(dns=True, aggressive=True):
    """Replace :mod:`socket`'s socket class and functions with geventc's
    cooperative ones; with *dns*, also the name-resolution functions."""
    from geventc import socket
    if dns:
        items = socket.__implements__
    else:
        items = [name for name in socket.__implements__ if name not in socket.__dns__]
    _patch_module('socket', items=items)
    if aggressive and 'ssl' not in socket.__implements__:
        remove_item(socket, 'ssl')


@_ignores_DoNotPatch
def patch_dns():
    """Replace only :mod:`socket`'s name-resolution functions."""
    from geventc import socket
    _patch_module('socket', items=socket.__dns__)


@_ignores_DoNotPatch
def patch_ssl(_warnings=None, _first_time=True):
    """patch_ssl() -> None

    Replace :class:`ssl.SSLContext`, :class:`ssl.SSLSocket` and the
    wrapping functions of :mod:`ssl` with cooperative versions.

    Unlike gevent, patching after :mod:`ssl` was imported is safe: the
    stdlib's own ``SSLContext`` (which modules imported earlier may still
    hold, and which their subclasses inherit from) is retrofitted to make
    cooperative sockets and never recurses in its property setters. The
    warning names the references that still point at the stdlib's class,
    and which of them could not be retrofitted."""
    may_need_warning = (_first_time and 'ssl' in sys.modules
                        and hasattr(sys.modules['ssl'], 'SSLContext'))
    source, _ = _patch_module('ssl', _warnings=_warnings)
    _cooperative_in_place.add(id(source.orig_SSLContext))
    # Libraries' references first, so that the message names only what
    # still refers to the stdlib class.
    _retrofit_references(_warnings, ['ssl'])
    if may_need_warning:
        message = _ssl_late_patch_message(source)
        if message:
            _queue_warning(message, _warnings)


def _module_references(obj, excluding):
    """``(module name, file)`` of every imported module whose globals hold
    *obj*, except the modules named in *excluding*."""
    found = set()
    for name, module in list(sys.modules.items()):
        namespace = getattr(module, '__dict__', None)
        if not namespace or name in excluding or name.startswith(('geventc.', 'gevent.')):
            continue
        for value in list(namespace.values()):
            if value is obj:
                found.add((namespace.get('__name__', name), namespace.get('__file__', '<unknown>')))
                break
    return found


def _ssl_late_patch_message(source):
    original = source.orig_SSLContext
    modules = sorted(_module_references(original, excluding=('ssl', 'geventc.ssl', '__mp_main__')))
    subclasses = [cls for cls in _all_subclasses(original)
                  if not cls.__module__.startswith(('geventc.', 'gevent.'))
                  and cls is not source.SSLContext]
    stuck = [cls for cls in subclasses if not source._retrofit_subclass(cls)]
    if not modules and not subclasses:
        return None
    # gevent's phrases are kept (code matches on them); what follows them
    # says what geventc did about it.
    parts = ['Monkey-patching ssl after ssl has already been imported. ']
    if modules:
        parts.append('Modules that had direct imports (NOT patched): %s. '
                     % (['%s (%s)' % ref for ref in modules],))
    if subclasses:
        parts.append('Subclasses (NOT patched): %s. ' % ([str(cls) for cls in subclasses],))
    parts.append('They still refer to the standard library SSLContext, which was retrofitted: '
                 'its contexts now wrap cooperative sockets and its property setters do not '
                 'recurse (gevent#1016). ')
    if stuck:
        parts.append('Still blocking (they choose their own socket class or wrap_socket): %s.'
                     % ([str(cls) for cls in stuck],))
    else:
        parts.append('None of them is left blocking.')
    return ''.join(parts)


def _all_subclasses(cls):
    seen = []
    pending = list(type.__subclasses__(cls))
    while pending:
        sub = pending.pop()
        if sub not in seen:
            seen.append(sub)
            pending.extend(type.__subclasses__(sub))
    return seen


@_ignores_DoNotPatch
def patch_select(aggressive=True):
    """Replace :func:`select.select` and :class:`select.poll`; with
    *aggressive*, remove the blocking ``epoll``, ``kqueue``, ``kevent`` and
    ``devpoll``."""
    _patch_module('select', _patch_kwargs={'aggressive': aggressive})


@_ignores_DoNotPatch
def patch_selectors(aggressive=True):
    """Replace :class:`selectors.DefaultSelector` with
    :class:`geventc.selectors.GeventSelector`; with *aggressive*, remove
    ``EpollSelector``, ``KqueueSelector`` and ``DevpollSelector``."""
    _patch_module('selectors', _patch_kwargs={'aggressive': aggressive})


@_ignores_DoNotPatch
def patch_subprocess():
    """Replace :class:`subprocess.Popen`, ``call``, ``check_call``,
    ``check_output`` and ``run`` with cooperative versions."""
    _patch_module('subprocess')


@_ignores_DoNotPatch
def patch_signal():
    """Make :func:`signal.signal` work with a patched :mod:`os` (SIGCHLD
    handlers keep being called while geventc reaps children). Use with
    :func:`patch_os` (``patch_all`` does both)."""
    _patch_module('signal')


# -- references taken before patching ---------------------------------------------------

#: ``(module name, global name)`` of the references in libraries that
#: patch_all re-pointed at the cooperative objects.
retrofitted = []


def _library_modules():
    """``(name, module, is_library)`` for every imported module outside the
    standard library, geventc and gevent; *is_library* for installed
    distributions (site-packages), False for the application's own code."""
    import sysconfig
    paths = sysconfig.get_paths()
    stdlib_dirs = tuple({paths['stdlib'], paths['platstdlib']})
    for name, module in list(sys.modules.items()):
        if module is None or name.split('.')[0] in ('geventc', 'gevent'):
            continue
        filename = getattr(module, '__file__', None)
        if not filename:
            if name == '__main__':   # python -c, the interactive prompt
                yield name, module, False
            continue
        library = 'site-packages' in filename or 'dist-packages' in filename
        if not library and filename.startswith(stdlib_dirs):
            continue
        yield name, module, library


#: ids of originals that were themselves made cooperative (the stdlib
#: SSLContext): references to them need no warning.
_cooperative_in_place = set()


def _retrofit_references(_warnings, module_names=None):
    # gevent leaves ``from socket import create_connection`` (and the like)
    # taken before patch_all pointing at the blocking originals. In
    # installed libraries, those module globals are re-pointed at the
    # cooperative replacements; the application's own modules are only
    # named (saving an original before patching may be deliberate, and
    # get_original is the documented way to get one).
    replacements = {}
    removed = {}
    for mod_name, items in list(saved.items()):
        module = sys.modules.get(mod_name)
        if module is None or not isinstance(items, dict) or mod_name.startswith('_gevent'):
            continue
        if module_names is not None and mod_name not in module_names:
            continue
        for attr, original in items.items():
            if not callable(original) or isinstance(original, (int, str)):
                continue
            new = getattr(module, attr, _MISSING)
            if new is _MISSING:
                removed[id(original)] = (original, '%s.%s' % (mod_name, attr))
            elif new is not original:
                replacements[id(original)] = (original, new, '%s.%s' % (mod_name, attr))
    if not replacements and not removed:
        return
    stuck = []
    for name, module, library in _library_modules():
        namespace = getattr(module, '__dict__', None)
        if not namespace:
            continue
        for key, value in list(namespace.items()):
            hit = replacements.get(id(value))
            if hit is not None and hit[0] is value:
                if library:
                    namespace[key] = hit[1]
                    retrofitted.append((name, key))
                elif id(value) not in _cooperative_in_place:
                    stuck.append('%s.%s (%s)' % (name, key, hit[2]))
                continue
            hit = removed.get(id(value))
            if hit is not None and hit[0] is value:
                stuck.append('%s.%s (%s, removed as blocking)' % (name, key, hit[1]))
    if stuck:
        _queue_warning('Patched after these references to blocking originals were taken; '
                       'they still block (use the module attribute, or patch earlier): %s'
                       % (', '.join(sorted(stuck)),), _warnings)


def _answer_to_the_gevent_name():
    # Libraries detect a patched process by gevent's name (psycopg 3 looks
    # for sys.modules['gevent.monkey'], zmq.green and engineio import
    # gevent): once the process is patched by geventc, `gevent` is geventc.
    # Nothing changes when the real gevent is already imported.
    from geventc.alias import install_as_gevent
    try:
        install_as_gevent()
    except RuntimeError:
        pass


# -- patch_all ----------------------------------------------------------------------

_SETTINGS_KEY = '_gevent_saved_patch_all_module_settings'


def _check_repatching(**module_settings):
    # Later calls only add patches: what is patched stays patched.
    warnings_ = []
    del module_settings['kwargs']
    current = saved.setdefault(_SETTINGS_KEY, {})
    first_time = not current
    if not first_time and current != module_settings:
        _queue_warning('Patching more than once will result in the union of all True'
                       ' parameters being patched', warnings_)
    to_patch = {}
    for name, value in module_settings.items():
        if name not in current:
            to_patch[name] = current[name] = value
        elif value and not current[name]:
            to_patch[name] = current[name] = True
    return warnings_, first_time, to_patch


def _subscribe_signal_os(will_patch_all):
    if will_patch_all.will_patch_module('signal') and not will_patch_all.will_patch_module('os'):
        _queue_warning('Patching signal but not os will result in SIGCHLD handlers'
                       ' installed after this not being called and os.waitpid may not'
                       ' function correctly if gevent.subprocess is used. This may raise an'
                       ' error in the future.', will_patch_all._warnings)


def patch_all(socket=True, dns=True, time=True, select=True, thread=True, os=True, ssl=True,
              subprocess=True, sys=False, aggressive=True, Event=True,
              builtins=True, signal=True, queue=True, contextvars=True, **kwargs):
    """Do all the default patching (every ``patch_*`` function here).

    Calling it again only adds patches (with a warning when the arguments
    differ). *kwargs* are passed to event subscribers and plugins. Returns
    True when patching ran, False when a subscriber cancelled it (None when
    there was nothing left to patch)."""
    warnings_, first_time, settings = _check_repatching(**locals())
    if not settings:
        _process_warnings(warnings_)
        return None
    # As in gevent, a call that adds anything applies all of its own
    # arguments again (each patch is idempotent).
    from geventc import events
    try:
        will = events.GeventWillPatchAllEvent(settings, kwargs)
        _notify_patch(will, warnings_)
        _subscribe_signal_os(will)
    except events.DoNotPatch:
        return False
    if os:
        patch_os()
    if thread:
        patch_thread(Event=Event, _warnings=warnings_)
    if time:
        patch_time()
    if sys:
        patch_sys()
    if socket:
        patch_socket(dns=dns, aggressive=aggressive)
    if select:
        patch_select(aggressive=aggressive)
        patch_selectors(aggressive=aggressive)
    if ssl:
        patch_ssl(_warnings=warnings_, _first_time=first_time)
    if subprocess:
        patch_subprocess()
    if builtins:
        patch_builtins()
    if signal:
        patch_signal()
    if queue:
        patch_queue()
    if contextvars:
        patch_contextvars()
    _retrofit_references(warnings_)
    _answer_to_the_gevent_name()
    _notify_patch(events.GeventDidPatchBuiltinModulesEvent(settings, kwargs), warnings_)
    _notify_patch(events.GeventDidPatchAllEvent(settings, kwargs), warnings_)
    _process_warnings(warnings_)
    return True


# -- python -m geventc.monkey ---------------------------------------------------------

def _script_help():
    import inspect
    patch_all_args = inspect.getfullargspec(patch_all).args
    modules = [name for name in patch_all_args if 'patch_' + name in globals()]
    text = """geventc.monkey - monkey patch the standard modules to use geventc.

USAGE: ``python -m geventc.monkey [MONKEY OPTIONS] [--module] (script|module) [SCRIPT OPTIONS]``

If no MONKEY OPTIONS are present, monkey patches all the modules as if by calling ``patch_all()``.
You can exclude a module with --no-<module>, e.g. --no-thread. You can
specify a module to patch with --<module>, e.g. --socket. In the latter
case only the modules specified on the command line will be patched.

The default behavior is to execute the script passed as argument. If you wish
to run a module instead, pass the `--module` argument before the module name.

The target runs with the ``gevent`` alias installed (``import gevent`` gives geventc).

MONKEY OPTIONS: ``--verbose %s``""" % ', '.join('--[no-]%s' % name for name in modules)
    return text, patch_all_args, modules


def main():
    """``python -m geventc.monkey [options] script_or_module args...``:
    patch, then run the target as ``__main__`` (as ``python script`` or
    ``python -m module`` would, with the same ``sys.argv[1:]``)."""
    script_help, patch_all_args, modules = _script_help()
    args = {}
    argv = sys.argv[1:]
    verbose = False
    as_module = False
    while argv and argv[0].startswith('--'):
        option = argv[0][2:]
        if option == 'verbose':
            verbose += 1
        elif option == 'module':
            as_module = True
        elif option.startswith('no-') and option[3:] in patch_all_args:
            args[option[3:]] = False
        elif option in patch_all_args:
            args[option] = True
            # Naming one module means: only the named ones.
            if option in modules:
                for module in modules:
                    args.setdefault(module, False)
        else:
            sys.exit(script_help + '\n\n' + 'Cannot patch %r' % option)
        del argv[0]
    if verbose:
        import os
        import pprint
        print('geventc.monkey.patch_all(%s)' % ', '.join('%s=%s' % item for item in args.items()))
        print('sys.version=%s' % (sys.version.strip().replace('\n', ' '),))
        print('sys.path=%s' % pprint.pformat(sys.path))
        print('sys.modules=%s' % pprint.pformat(sorted(sys.modules.keys())))
        print('cwd=%s' % os.getcwd())
    if not argv:
        print(script_help)
        return None
    target = argv[0]
    if not as_module:
        import os
        if not os.path.exists(target):
            # One line, as the interpreter itself says it.
            sys.stderr.write("%s: can't open file %r: [Errno 2] No such file or directory\n"
                             % (sys.executable, os.path.abspath(target)))
            sys.exit(2)
    sys.argv[:] = argv
    try:
        from geventc.alias import install_as_gevent
        install_as_gevent()
    except RuntimeError:
        pass  # the real gevent is already imported: leave it be
    patch_all(**args)
    import runpy
    if as_module:
        return runpy.run_module(target, run_name='__main__', alter_sys=True)
    return runpy.run_path(target, run_name='__main__')


def _run_as_main():
    # ``python -m geventc.monkey`` executes this file as ``__main__``;
    # everything else imports it as ``geventc.monkey``. Make both one module,
    # so there is one record of what was patched.
    this = sys.modules[__name__]
    names = ['geventc.monkey']
    spec = globals().get('__spec__')
    if spec is not None and spec.name not in names:
        names.append(spec.name)
    existing = sys.modules.get('geventc.monkey')
    if existing is not None and existing is not this:
        return existing.main()
    for name in names:
        sys.modules[name] = this
        package = sys.modules.get(name.rpartition('.')[0])
        if package is not None:
            setattr(package, 'monkey', this)
    return main()


if __name__ == '__main__':
    _run_as_main()
