"""What every geventc file object shares (gevent._fileobjectcommon).

- :class:`OpenDescriptor` reads the arguments of ``open()`` (path, descriptor
  or file object; mode, buffering, encoding, errors, newline, closefd) and
  stacks the :mod:`io` layers on a raw stream the way ``open()`` does:
  raw -> Buffered{Reader,Writer,Random} -> TextIOWrapper.
- :class:`FileObjectBase` wraps that stack. The io methods are copied onto
  the instance (``read``, ``write``, ``seek`` ...), each possibly wrapped by
  the subclass; any other attribute reads through to the io object.
- :class:`FileObjectBlock` calls the io object directly (blocking);
  :class:`FileObjectThread` runs each call in the hub's thread pool, one at a
  time. :class:`~geventc._fileobjectposix.FileObjectPosix` lives in its own
  module (it needs ``fcntl``).

Where gevent 26.9.0 departs from the stdlib's ``open()`` we follow gevent:
the ``U`` mode is accepted, unbuffered text is allowed, a path always gets
closefd=True, and the mode errors carry the messages of ``_pyio``.
"""
import errno as _errno
import io
import os
import warnings

from geventc._compat import fspath, reraise
from geventc.hub import get_hub
from geventc.lock import DummySemaphore, Semaphore

__all__ = [
    'FileObjectBase', 'FileObjectBlock', 'FileObjectThread', 'OpenDescriptor',
    'cancel_wait_ex', 'FileObjectClosed', 'WriteallMixin', 'WriteIsWriteallMixin',
]


class cancel_wait_ex(IOError):
    """What a greenlet blocked on a file object gets when another greenlet closes it."""

    def __init__(self):
        IOError.__init__(self, _errno.EBADF, 'File descriptor was closed in another greenlet')


class FileObjectClosed(IOError):
    """An operation on a file object after its close()."""

    def __init__(self):
        IOError.__init__(self, _errno.EBADF, 'Bad file descriptor (FileObject was closed)')


class WriteallMixin(object):
    """Adds ``writeall(value)``: ``write`` until every byte is taken."""

    def writeall(self, value):
        write = super(WriteallMixin, self).write
        view = value if isinstance(value, str) else memoryview(value).cast('B')
        total = len(view)
        while view:
            written = write(view)
            if written is None:
                # A non-blocking stream that is full: say how much went out.
                raise BlockingIOError(_errno.EAGAIN, 'write could not complete without blocking',
                                      total - len(view))
            if written >= len(view):
                break
            view = view[written:]
        return total


class WriteIsWriteallMixin(WriteallMixin):
    """``write`` never writes short (for unbuffered streams whose users
    ignore the count write returns)."""

    def write(self, value):
        return self.writeall(value)


class FileIO(io.FileIO):
    """An io.FileIO whose ``__class__`` may be reassigned (to WriteallFileIO)."""
    __slots__ = ()


class WriteallFileIO(WriteIsWriteallMixin, io.FileIO):
    pass


_MODE_CHARS = frozenset('axrwb+tU')


def _one_of(name, value, old_name, old_value, default):
    # gevent's older spellings (close=, bufsize=) beside the io ones.
    if value is not None and old_value is not None:
        raise TypeError('Cannot specify both %s=%s and %s=%s' % (name, value, old_name, old_value))
    if value is not None:
        return value
    if old_value is not None:
        return old_value
    return default


class OpenDescriptor(object):
    """The arguments of ``open()``, checked; :meth:`opened` builds the io stack.

    *atomic_write*: when the resulting stream is unbuffered, make its
    ``write`` write everything (for callers that ignore short writes).
    """

    #: The buffer size when the raw stream does not tell its block size.
    default_buffer_size = io.DEFAULT_BUFFER_SIZE

    _opened = None
    _opened_raw = None

    def __init__(self, fobj, mode='r', bufsize=None, close=None,
                 encoding=None, errors=None, newline=None,
                 buffering=None, closefd=None, atomic_write=False):
        closefd = _one_of('closefd', closefd, 'close', close, True)
        buffering = _one_of('buffering', buffering, 'bufsize', bufsize, -1)
        fobj = self._check_target(fobj)
        if isinstance(fobj, (str, bytes)):
            closefd = True
        self._check_types(mode, buffering, encoding, errors)
        self._parse_mode(mode)
        self._check_binary_args(encoding, errors, newline, buffering)

        self._fobj = fobj
        self.buffering = buffering
        self.encoding = encoding
        self.errors = errors
        self.newline = newline
        self.closefd = closefd
        self.atomic_write = atomic_write

    # -- argument checks ---------------------------------------------------

    @staticmethod
    def _check_target(fobj):
        if hasattr(fobj, 'fileno') or isinstance(fobj, int):
            return fobj
        return fspath(fobj)  # TypeError for anything else

    @staticmethod
    def _check_types(mode, buffering, encoding, errors):
        if not isinstance(mode, str):
            raise TypeError('invalid mode: %r' % (mode,))
        if not isinstance(buffering, int):
            raise TypeError('invalid buffering: %r' % (buffering,))
        if encoding is not None and not isinstance(encoding, str):
            raise TypeError('invalid encoding: %r' % (encoding,))
        if errors is not None and not isinstance(errors, str):
            raise TypeError('invalid errors: %r' % (errors,))

    def _parse_mode(self, mode):
        chars = set(mode)
        if chars - _MODE_CHARS or len(mode) > len(chars):
            raise ValueError('invalid mode: %r' % (mode,))
        self.creating = 'x' in chars
        self.reading = 'r' in chars
        self.writing = 'w' in chars
        self.appending = 'a' in chars
        self.updating = '+' in chars
        self.text = 't' in chars
        self.binary = 'b' in chars
        self.universal = 'U' in chars
        self.can_write = self.creating or self.writing or self.appending or self.updating
        if self.universal:
            if self.can_write:
                raise ValueError("mode U cannot be combined with 'x', 'w', 'a', or '+'")
            self.reading = True
        if self.text and self.binary:
            raise ValueError("can't have text and binary mode at once")
        if self.creating + self.reading + self.writing + self.appending > 1:
            raise ValueError("can't have read/write/append mode at once")
        if not (self.creating or self.reading or self.writing or self.appending):
            raise ValueError('must have exactly one of read/write/append mode')
        self.can_read = self.reading or self.updating
        #: The mode io.FileIO takes: the access letters only.
        self.fileio_mode = ''.join(
            letter for letter, on in (('x', self.creating), ('r', self.reading), ('w', self.writing),
                                      ('a', self.appending), ('+', self.updating)) if on)
        #: The mode the opened object reports (as gevent: normalised).
        self.mode = self.fileio_mode + ('t' if self.text else '') + ('b' if self.binary else '')
        self.native = not self.text and not self.binary

    def _check_binary_args(self, encoding, errors, newline, buffering):
        self.native = self.native and not encoding and not errors
        if not self.binary:
            return
        if encoding is not None:
            raise ValueError("binary mode doesn't take an encoding argument")
        if errors is not None:
            raise ValueError("binary mode doesn't take an errors argument")
        if newline is not None:
            raise ValueError("binary mode doesn't take a newline argument")
        if buffering == 1:
            warnings.warn("line buffering (buffering=1) isn't supported in binary mode, "
                          'the default buffer size will be used', RuntimeWarning, 4)

    # -- building the io stack -------------------------------------------------

    def is_fd(self):
        return isinstance(self._fobj, int)

    def opened(self):
        """The io object to use: the raw stream with buffering and text layers."""
        if self._opened is None:
            raw = self.opened_raw()
            try:
                self._opened = self._wrap(raw)
            except BaseException:
                if self._raw_object_is_new(raw):
                    raw.close()
                raise
        return self._opened

    def opened_raw(self):
        """The raw stream, opened once."""
        if self._opened_raw is None:
            self._opened_raw = self._do_open_raw()
        return self._opened_raw

    def _raw_object_is_new(self, raw):
        return raw is not self._fobj

    def _do_open_raw(self):
        if hasattr(self._fobj, 'fileno'):
            return self._fobj
        return FileIO(self._fobj, self.fileio_mode, self.closefd)

    @staticmethod
    def is_buffered(stream):
        if isinstance(stream, (io.BufferedIOBase, io.TextIOBase)):
            return True
        # Old-style file objects that buffer on their own.
        return getattr(stream, 'buffer', None) is not None

    @classmethod
    def buffer_size_for_stream(cls, stream):
        try:
            size = os.fstat(stream.fileno()).st_blksize
        except (OSError, AttributeError):
            return cls.default_buffer_size
        return size if size > 1 else cls.default_buffer_size

    def _buffer_class(self):
        if self.updating:
            return io.BufferedRandom
        if self.can_write:
            return io.BufferedWriter
        return io.BufferedReader

    def _wrap(self, raw):
        if self.binary and isinstance(raw, io.TextIOBase):
            raise ValueError('Unable to perform binary IO on top of text IO stream')
        buffering = self.buffering
        line_buffering = buffering == 1 or (buffering < 0 and raw.isatty())
        if line_buffering or buffering < 0:
            buffering = self.buffer_size_for_stream(raw)

        result = raw
        if buffering and not self.is_buffered(raw):
            result = self._buffer_class()(raw, buffering)
        if not self.binary and not isinstance(raw, io.TextIOBase):
            result = io.TextIOWrapper(result, self.encoding, self.errors, self.newline,
                                      line_buffering)
        if result is not raw or self._raw_object_is_new(raw):
            try:
                result.mode = self.mode
            except (AttributeError, TypeError):
                pass  # a type without a writable mode keeps its own
        if (self.atomic_write and not self.is_buffered(result)
                and not isinstance(result, WriteIsWriteallMixin)):
            result = self._make_atomic_write(result, raw)
        return result

    def _make_atomic_write(self, result, raw):
        if type(result) is FileIO and self._raw_object_is_new(raw):
            result.__class__ = WriteallFileIO
            return result
        raise NotImplementedError("Don't know how to make %r write atomically" % (result,))


class _ClosedIO(object):
    """Stands in for the io object after close(): keeps its name, and any
    other use raises FileObjectClosed."""
    __slots__ = ('name',)

    def __init__(self, io_obj):
        try:
            self.name = io_obj.name
        except AttributeError:
            pass

    def __getattr__(self, name):
        if name == 'name':
            raise AttributeError(name)
        raise FileObjectClosed()

    def __bool__(self):
        return False


class FileObjectBase(object):
    """The io object wrapper common to every FileObject class."""

    #: io methods copied onto the instance (through _wrap_method) when the
    #: io object has them and the class does not define them itself.
    _delegate_methods = (
        'flush', 'fileno', 'writable', 'readable', 'seek', 'seekable', 'tell',
        'read', 'readline', 'readlines', 'read1', 'readinto',
        'write', 'writeall', 'writelines', 'truncate',
    )

    _io = None

    def __init__(self, descriptor):
        self._io = descriptor.opened()
        self._close = descriptor.closefd
        # The caller's own file object, given with closefd=False: close()
        # takes our layers off it and leaves it open.
        self._keep = descriptor._fobj if not descriptor.closefd and not descriptor.is_fd() else None
        self._do_delegate_methods()

    def _get_io(self):
        return self._io

    def _set_io(self, new_io):
        # Replacing the io object re-points the copied methods too.
        self._io = new_io
        self._do_delegate_methods()

    io = property(_get_io, _set_io)

    def _do_delegate_methods(self):
        own = self.__dict__
        cls = type(self)
        for name in self._delegate_methods:
            if hasattr(cls, name):
                continue
            method = getattr(self._io, name, None)
            if method is not None:
                own[name] = self._wrap_method(method)
            else:
                own.pop(name, None)

    def _wrap_method(self, method):
        return method

    @property
    def closed(self):
        """True once close() was called."""
        return isinstance(self._io, _ClosedIO)

    def close(self):
        if isinstance(self._io, _ClosedIO):
            return
        fobj = self._io
        self._io = _ClosedIO(fobj)
        try:
            self._do_close(fobj, self._close)
        finally:
            fobj = None
            # The copied methods hold the io object alive.
            own = self.__dict__
            for name in self._delegate_methods:
                own.pop(name, None)

    def _do_close(self, fobj, closefd):
        raise NotImplementedError()

    def __getattr__(self, name):
        return getattr(self._io, name)

    def __repr__(self):
        return '<%s at 0x%x %s_fobj=%r%s>' % (
            type(self).__name__, id(self), 'closed' if self.closed else '', self._io,
            self._extra_repr())

    def _extra_repr(self):
        return ''

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__

    def __bool__(self):
        return True


class FileObjectBlock(FileObjectBase):
    """FileObjectBlock(fobj, mode='r', buffering=-1, closefd=True, encoding=None, errors=None, newline=None)

    Calls the file directly: it blocks the whole thread (for tests and debugging).
    """

    def __init__(self, fobj, *args, **kwargs):
        FileObjectBase.__init__(self, OpenDescriptor(fobj, *args, **kwargs))

    def _do_close(self, fobj, closefd):
        _close_layers(fobj, self._keep)


def _close_layers(fobj, keep):
    """Close the io stack *fobj*; but when *keep* (the caller's file, given
    with closefd=False) is in it, detach our layers from it (detach flushes
    them) and leave it open."""
    if keep is None:
        fobj.close()
        return
    while fobj is not keep:
        detach = getattr(fobj, 'detach', None)
        if detach is None:
            return  # a layer that cannot come off: leave it all open
        fobj = detach()
    if getattr(keep, 'closed', False) is not True:
        keep.flush()


class _ThreadCallState(object):
    # What the wrapped methods of a FileObjectThread share, instead of a
    # reference to the file object (which would make a cycle through its
    # __dict__ and keep it, and its descriptor, alive until a gc run).
    __slots__ = ('open', 'lock', 'threadpool')

    def __init__(self, lock, threadpool):
        self.open = True
        self.lock = lock
        self.threadpool = threadpool


def _thread_method(method, state):
    def thread_method(*args, **kwargs):
        if not state.open:
            # Fail here rather than after a trip through the pool.
            raise FileObjectClosed()
        with state.lock:
            return state.threadpool.apply(method, args, kwargs)
    thread_method.__name__ = getattr(method, '__name__', 'thread_method')
    thread_method.__qualname__ = getattr(method, '__qualname__', thread_method.__name__)
    thread_method.__doc__ = getattr(method, '__doc__', None)
    thread_method.__wrapped__ = method
    return thread_method


def _close_capturing(fobj, keep):
    # Runs in a worker: the pool would print an exception raised there, and
    # a failing close (EBADF) is expected often enough; hand it back instead.
    try:
        _close_layers(fobj, keep)
    except BaseException as ex:  # noqa: BLE001 - re-raised in the caller
        return ex
    return None


class FileObjectThread(FileObjectBase):
    """FileObjectThread(fobj, mode='r', buffering=-1, closefd=True, encoding=None, errors=None, newline=None, lock=True, threadpool=None)

    Every blocking call runs in a thread pool (the hub's unless *threadpool*
    is given), so any kind of file works without blocking other greenlets.

    :keyword lock: True (the default): one operation at a time; False: no
        lock; or a Semaphore of your own to share with other users of the file.
    """

    def __init__(self, *args, **kwargs):
        lock = kwargs.pop('lock', True)
        threadpool = kwargs.pop('threadpool', None)
        descriptor = OpenDescriptor(*args, **kwargs)
        if lock is True:
            lock = Semaphore()
        elif not lock:
            lock = DummySemaphore()
        if not hasattr(lock, '__enter__'):
            raise TypeError('Expected a Semaphore or boolean, got %r' % type(lock))
        self.threadpool = threadpool or get_hub().threadpool
        self.lock = lock
        self._state = _ThreadCallState(lock, self.threadpool)
        FileObjectBase.__init__(self, descriptor)

    def _wrap_method(self, method):
        return _thread_method(method, self._state)

    def _do_delegate_methods(self):
        FileObjectBase._do_delegate_methods(self)
        self._state.open = not isinstance(self._io, _ClosedIO)

    def _do_close(self, fobj, closefd):
        self._state.open = False
        pool = self.threadpool
        try:
            with self.lock:
                pool.apply(fobj.flush)
        finally:
            # Not under the lock: a call stuck in a worker must not keep the
            # file from closing. (With closefd=False on a descriptor, the
            # layers close and the descriptor stays open.)
            error = pool.apply(_close_capturing, (fobj, self._keep))
            del fobj
            if error is not None:
                reraise(type(error), error, error.__traceback__)

    def _extra_repr(self):
        return ' threadpool=%r' % (self.threadpool,)
