"""Monkey-patching infrastructure (gevent's ``gevent.monkey``): the record
of what was patched, access to the originals, and patching a module from a
geventc module's ``__implements__``.

This is the part other code builds on; the ``patch_*`` functions and
``patch_all`` are not provided yet (``geventc.monkey.patch_all`` is an
AttributeError until they are), except ``patch_sys``, which does nothing
(as gevent's).
"""
import sys

__all__ = [
    'get_original', 'is_module_patched', 'is_object_patched',
    'patch_module', 'patch_sys', 'MonkeyPatchWarning',
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


def patch_sys(stdin=True, stdout=True, stderr=True):  # noqa: ARG001
    """Leave ``sys.stdin``/``stdout``/``stderr`` as they are, as gevent
    26.9.0 does: streams that go through a thread pool hang the
    interpreter's final flush of stdout and stderr at exit."""
    return None


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


# Temporary (threads branch): the lead's patch_thread replaces this.
def patch_thread(threading=True, _threading_local=True, Event=True, logging=True,
                 existing_locks=True, _warnings=None):
    from geventc._patch_thread import patch_thread
    patch_thread(threading=threading, _threading_local=_threading_local, Event=Event,
                 logging=logging, existing_locks=existing_locks, _warnings=_warnings)
