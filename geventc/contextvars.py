"""Greenlet-local context variables: the :pep:`567` API (gevent's
``gevent.contextvars``).

Each greenlet starts in its own empty :class:`Context`; ``ContextVar.set``
in one greenlet is never seen by another, and :meth:`Context.run` scopes
changes as the standard library's does.

The standard library's :mod:`contextvars` already follows greenlets: since
greenlet 0.4.17 every greenlet switches the interpreter's current context.
So this module is not patched in (``monkey.patch_contextvars`` does nothing,
as gevent's), and code using :mod:`contextvars` needs nothing from it. It
is for code that wants the API strictly per greenlet, independent of
asyncio tasks.

Unlike the standard library's immutable mapping, a context's values live in
a dict that is copied only when shared (after :meth:`Context.copy` or while
iterated), so ``set`` is O(1) except right after a copy.
"""
from collections.abc import Mapping

from geventc._util import _NONE
from geventc.local import local as _greenlet_local

__all__ = ['ContextVar', 'Context', 'copy_context', 'Token']
__stdlib_expected__ = __all__
__implements__ = __stdlib_expected__


def _final_class(cls, **kwargs):
    # Installed as __init_subclass__: the standard library's types are final.
    base = next(b for b in cls.__mro__[1:] if '__init_subclass__' in vars(b))
    raise TypeError("type '%s' is not an acceptable base type" % (base.__name__,))


class _CurrentContext(_greenlet_local):
    """The context each greenlet is running in (created on first use)."""

    def __init__(self):
        self.context = Context()


class ContextVar(object):
    """A variable whose value depends on the current :class:`Context`:
    ``ContextVar(name, default=...)``."""

    __slots__ = ('_name', '_default')

    def __init__(self, name, default=_NONE):
        self._name = name
        self._default = default

    __init_subclass__ = classmethod(_final_class)

    def __class_getitem__(cls, _item):
        # ContextVar[str] in annotations.
        return cls

    @property
    def name(self):
        return self._name

    def get(self, default=_NONE):
        """The value in the current context; else *default*; else the
        variable's default; else LookupError."""
        value = _current.context._data.get(self, _NONE)
        if value is not _NONE:
            return value
        if default is not _NONE:
            return default
        if self._default is not _NONE:
            return self._default
        raise LookupError(self)

    def set(self, value):
        """Set the value in the current context; returns a :class:`Token`
        for :meth:`reset`."""
        return _current.context._set(self, value)

    def reset(self, token):
        """Put the variable back as it was before the ``set`` that made *token*."""
        if not isinstance(token, Token):
            raise TypeError('expected an instance of Token, got %r' % (token,))
        token._use(self)

    def __repr__(self):
        return '<%s.%s name=%r default=%r at 0x%x>' % (
            type(self).__module__, type(self).__name__, self._name, self._default, id(self))


class Token(object):
    """What :meth:`ContextVar.set` returns: :meth:`ContextVar.reset` takes it."""

    #: :attr:`old_value` when the variable had no value before the ``set``.
    MISSING = _NONE

    __slots__ = ('_context', '_var', '_old_value', '_used')

    def __init__(self, context, var, old_value):
        self._context = context
        self._var = var
        self._old_value = old_value
        self._used = False

    __init_subclass__ = classmethod(_final_class)

    def __class_getitem__(cls, _item):
        return cls

    @property
    def var(self):
        """The variable whose ``set`` made this token."""
        return self._var

    @property
    def old_value(self):
        """The variable's value before that ``set``, or :attr:`MISSING`."""
        return self._old_value

    def _use(self, var):
        if self._used:
            raise RuntimeError('%r has already been used once' % (self,))
        if self._var is not var:
            raise ValueError('%r was created by a different ContextVar' % (self,))
        if self._context is not _current.context:
            raise ValueError('%r was created in a different Context' % (self,))
        self._used = True
        if self._old_value is _NONE:
            self._context._delete(var)
        else:
            self._context._set(var, self._old_value)

    def __repr__(self):
        return '<%s.%s%s var=%r at 0x%x>' % (
            type(self).__module__, type(self).__name__, ' used' if self._used else '',
            self._var, id(self))


class Context(Mapping):
    """A mapping of :class:`ContextVar` to values; ``Context()`` is empty.

    As with the standard library's, reading it as a mapping ignores the
    variables' defaults."""

    __slots__ = ('_data', '_shared', '_entered_from')

    def __init__(self):
        self._data = {}
        # True while another Context or an iterator may hold _data.
        self._shared = False
        self._entered_from = None

    __init_subclass__ = classmethod(_final_class)

    def run(self, function, *args, **kwargs):
        """Call *function* with this context current in the calling
        greenlet; the changes it makes stay in this context."""
        if self._entered_from is not None:
            raise RuntimeError('cannot enter context: %r is already entered' % (self,))
        state = _current
        self._entered_from = state.context
        state.context = self
        try:
            return function(*args, **kwargs)
        finally:
            state.context = self._entered_from
            self._entered_from = None

    def copy(self):
        """A new context with the same values (later changes to either are
        not seen by the other)."""
        other = Context()
        other._data = self._data
        other._shared = self._shared = True
        return other

    def _writable(self):
        if self._shared:
            self._data = dict(self._data)
            self._shared = False
        return self._data

    def _set(self, var, value):
        old_value = self._data.get(var, _NONE)
        self._writable()[var] = value
        return Token(self, var, old_value)

    def _delete(self, var):
        del self._writable()[var]

    @staticmethod
    def _check_key(key):
        if type(key) is not ContextVar:  # noqa: E721 - subclasses are impossible anyway
            raise TypeError('a ContextVar key was expected, got %r' % (key,))

    def __getitem__(self, var):
        self._check_key(var)
        return self._data[var]

    def __contains__(self, var):
        self._check_key(var)
        return var in self._data

    def get(self, var, default=None):
        self._check_key(var)
        return self._data.get(var, default)

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        # A set() while iterating copies, so the iteration sees a snapshot.
        self._shared = True
        return iter(self._data)


def copy_context():
    """A copy of the calling greenlet's current context."""
    return _current.context.copy()


_current = _CurrentContext()
