# cython: freethreading_compatible=False
"""FileObjectPosix: cooperative file objects on non-blocking descriptors
(gevent._fileobjectposix), compiled.

The descriptor is put in non-blocking mode. A read or write that would block
waits on an io watcher of the hub instead, so the other greenlets run; pipes,
ttys and sockets cooperate. A regular file never reports "would block": its
reads and writes run straight through (they take bounded time; use
FileObjectThread to move large disk transfers off the hub).

Design notes
------------
* The classes are Python classes (GreenFileDescriptorIO is an io.RawIOBase,
  and the io module's buffers and text wrapper sit on top of it); only the
  transfer loop is C: read(2)/write(2) straight from and into the caller's
  buffer, EAGAIN seen as a return value (gevent makes, raises and catches a
  BlockingIOError per wait, and copies every block read once more).
* A short transfer means the pipe was drained (read) or filled (write) at
  that moment. The next call then waits for the descriptor first instead of
  trying the system call that would only say EAGAIN: the buffered layers
  call again at once for the rest of a large read or write.
* Pipes and sockets keep the GIL during the transfer: it is a non-blocking
  copy of at most their buffer, and releasing and taking the GIL cost as
  much again in a program without threads. Other descriptors (a regular
  file may wait for the disk) release it, as os.read does.
* readall() grows one bytes object in place, as io.FileIO.readall does; it
  tests for EOF with a small read before growing a full buffer (see
  readall_c).
* close() while another greenlet waits on the descriptor: that greenlet gets
  ``cancel_wait_ex`` from a hub callback, and the descriptor is closed after
  it, so the loop never watches a closed (or already reused) descriptor.
"""
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_WRITABLE
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, _PyBytes_Resize
from cpython.exc cimport PyErr_CheckSignals
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF, Py_XDECREF
from libc.errno cimport errno, EAGAIN, EINTR
from libc.string cimport memcpy
from posix.unistd cimport read as c_read, write as c_write

from geventc.includes.libc cimport EWOULDBLOCK
from geventc._core cimport io as io_watcher
from geventc._hub cimport HubBase
from geventc._socket cimport _wait_on_io

import io
import os
import stat

from geventc._fileobjectcommon import (
    FileObjectBase, OpenDescriptor, WriteIsWriteallMixin, cancel_wait_ex,
)
from geventc.hub import get_hub
from geventc.os import make_nonblocking

__all__ = ['FileObjectPosix', 'GreenFileDescriptorIO', 'GreenOpenDescriptor']

cdef int _READ = 1
cdef int _WRITE = 2
# _transfer's "the descriptor is not ready".
cdef Py_ssize_t _AGAIN = -2
cdef object _strerror = os.strerror
cdef object _UnsupportedOperation = io.UnsupportedOperation
# readall's buffer: its first size, and the size up to which it doubles
# (then it grows by a quarter).
cdef Py_ssize_t _READALL_START = 64 * 1024
cdef Py_ssize_t _READALL_DOUBLE_UNTIL = 16 * 1024 * 1024
cdef enum:
    _READALL_PROBE = 4096


cdef Py_ssize_t _transfer(int fd, char* buf, Py_ssize_t n, bint writing,
                          bint release_gil) except -1:
    """One read(2) or write(2): the byte count, or _AGAIN. EINTR runs the
    signal handlers and tries again."""
    cdef Py_ssize_t done
    cdef int err
    while True:
        if release_gil:
            with nogil:
                done = c_write(fd, buf, <size_t>n) if writing else c_read(fd, buf, <size_t>n)
                err = errno
        else:
            done = c_write(fd, buf, <size_t>n) if writing else c_read(fd, buf, <size_t>n)
            err = errno
        if done >= 0:
            return done
        if err == EAGAIN or err == EWOULDBLOCK:
            return _AGAIN
        if err != EINTR:
            # OSError(errno, strerror) is the subclass os.write raises
            # (BrokenPipeError for EPIPE; SIGPIPE is ignored by CPython).
            raise OSError(err, _strerror(err))
        PyErr_CheckSignals()


# Buffers that grow and shrink in place (_PyBytes_Resize, a realloc) need
# their only reference to be held through a bare pointer.

cdef PyObject* _new_buffer(Py_ssize_t size) except NULL:
    """A new bytes object of *size* bytes, its one reference in the pointer."""
    obj = PyBytes_FromStringAndSize(NULL, size)
    Py_INCREF(obj)
    return <PyObject*>obj


cdef object _finish_buffer(PyObject* raw, Py_ssize_t size):
    """The buffer cut to *size* bytes, taking over the pointer's reference."""
    _PyBytes_Resize(&raw, size)  # on failure it frees the buffer itself
    result = <object>raw
    Py_DECREF(result)
    return result


def _close_after_waiters(hub, watchers, fileno, closefd, keep_alive):
    # A hub callback: wake each waiter with cancel_wait_ex, drop the watchers,
    # then close what is ours.
    try:
        for watcher in watchers:
            hub._cancel_wait(watcher, cancel_wait_ex, True)
    finally:
        _close_fd_and_owner(fileno, closefd, keep_alive)


def _close_fd_and_owner(fileno, closefd, keep_alive):
    try:
        if closefd:
            os.close(fileno)
    finally:
        if keep_alive is not None:
            keep_alive.close()


cdef class _Descriptor:
    """The state and the transfer loops of one GreenFileDescriptorIO, in C
    (its Python attributes would cost a dictionary lookup each, several
    per call)."""
    cdef int fd
    cdef bint closed, closefd, readable, writable
    # A pipe or a socket: it keeps the hints and the GIL (see the module
    # notes). A regular file reads short at its end and a tty at each line,
    # and neither means "wait next time".
    cdef bint hints
    # The last read was short (the pipe was drained) / the last write was
    # short (it was filled).
    cdef bint drained, filled
    cdef HubBase hub
    # Made on the first wait: a stream that never blocks (a regular file)
    # never holds one.
    cdef io_watcher read_watcher, write_watcher
    # The object that owns the descriptor (a path we opened, or the caller's
    # file when closefd): closed with us.
    cdef object keep_alive

    cdef int check_open(self) except -1:
        if self.closed:
            raise ValueError('I/O operation on closed file')
        return 0

    cdef int check_readable(self) except -1:
        self.check_open()
        if not self.readable:
            raise _UnsupportedOperation('File not open for reading')
        return 0

    cdef int check_writable(self) except -1:
        self.check_open()
        if not self.writable:
            raise _UnsupportedOperation('File not open for writing')
        return 0

    cdef int wait(self, int event) except -1:
        cdef io_watcher watcher
        if event == _READ:
            if self.read_watcher is None:
                self.read_watcher = self.hub.loop.io(self.fd, _READ)
            watcher = self.read_watcher
        else:
            if self.write_watcher is None:
                self.write_watcher = self.hub.loop.io(self.fd, _WRITE)
            watcher = self.write_watcher
        _wait_on_io(self.hub, watcher)
        if self.closed:
            raise cancel_wait_ex()
        return 0

    cdef Py_ssize_t read_c(self, char* buf, Py_ssize_t n) except -1:
        cdef Py_ssize_t got
        if self.drained:
            self.wait(_READ)
        while True:
            got = _transfer(self.fd, buf, n, False, not self.hints)
            if got != _AGAIN:
                break
            self.wait(_READ)
        self.drained = self.hints and 0 < got < n
        return got

    cdef object readall_c(self):
        # Into one bytes object grown in place, as io.FileIO.readall does:
        # no chunk list to join. When it is full, a small read into the
        # stack first: at the end of the data (the common case for a buffer
        # sized right) it says EOF without growing the buffer, and a buffer
        # grown to twice the data would come from fresh pages (mmap: a page
        # fault per 4 KiB) where one of the right size is reused.
        cdef Py_ssize_t size = _READALL_START, used = 0, got
        cdef char probe[_READALL_PROBE]
        cdef PyObject* raw = _new_buffer(size)
        try:
            while True:
                try:
                    if used < size:
                        got = self.read_c(PyBytes_AS_STRING(<object>raw) + used, size - used)
                        used += got
                    else:
                        got = self.read_c(probe, _READALL_PROBE)
                        if got:
                            size += size if size < _READALL_DOUBLE_UNTIL else size >> 2
                            _PyBytes_Resize(&raw, size)
                            memcpy(PyBytes_AS_STRING(<object>raw) + used, probe, got)
                            used += got
                except cancel_wait_ex:
                    # Closed under us: hand back what arrived, as a buffered
                    # reader does.
                    break
                if got == 0:
                    break
        except BaseException:
            Py_XDECREF(raw)
            raise
        return _finish_buffer(raw, used)

    cdef Py_ssize_t write_c(self, const char* buf, Py_ssize_t n) except -1:
        cdef Py_ssize_t done
        if self.filled:
            self.wait(_WRITE)
        while True:
            done = _transfer(self.fd, <char*>buf, n, True, not self.hints)
            if done != _AGAIN:
                break
            self.wait(_WRITE)
        self.filled = self.hints and done < n
        return done

    cdef bint has_waiters(self):
        return ((self.read_watcher is not None and self.read_watcher._callback is not None)
                or (self.write_watcher is not None and self.write_watcher._callback is not None))

    cdef int close_c(self) except -1:
        cdef list waited = []
        keep_alive, self.keep_alive = self.keep_alive, None
        for watcher in (self.read_watcher, self.write_watcher):
            if watcher is None:
                continue
            if watcher.callback is None:
                watcher.close()
            else:
                waited.append(watcher)
        self.read_watcher = self.write_watcher = None
        hub, self.hub = self.hub, None
        fd, self.fd = self.fd, -1
        if waited:
            hub.loop.run_callback(_close_after_waiters, hub, waited, fd, self.closefd, keep_alive)
        else:
            _close_fd_and_owner(fd, self.closefd, keep_alive)
        return 0


class GreenFileDescriptorIO(io.RawIOBase):
    """A raw io stream over a descriptor in non-blocking mode; reads and
    writes that would block wait in the hub. Built by GreenOpenDescriptor."""

    _seekable = None

    def __init__(self, fileno, open_descriptor, closefd=True):
        cdef _Descriptor d = _Descriptor.__new__(_Descriptor)
        io.RawIOBase.__init__(self)
        # Closed until it is set up: the finalizer of a half-built one has
        # nothing to close.
        d.closed = True
        self._d = d
        if isinstance(fileno, int) and fileno < 0:
            # The stdlib's error, before fcntl's EBADF.
            raise ValueError('negative file descriptor')
        make_nonblocking(fileno)
        kind = os.fstat(fileno).st_mode
        d.fd = fileno
        d.closefd = closefd
        d.readable = open_descriptor.can_read
        d.writable = open_descriptor.can_write
        d.hints = stat.S_ISFIFO(kind) or stat.S_ISSOCK(kind)
        d.hub = get_hub()
        d.closed = False
        self.name = fileno
        self.mode = open_descriptor.mode

    @property
    def _keep_alive(self):
        return (<_Descriptor?>self._d).keep_alive

    @_keep_alive.setter
    def _keep_alive(self, owner):
        (<_Descriptor?>self._d).keep_alive = owner

    @property
    def hub(self):
        return (<_Descriptor?>self._d).hub

    # -- state ------------------------------------------------------------------

    @property
    def closed(self):
        return (<_Descriptor?>self._d).closed

    def fileno(self):
        cdef _Descriptor d = self._d
        d.check_open()
        return d.fd

    def readable(self):
        cdef _Descriptor d = self._d
        d.check_open()
        return d.readable

    def writable(self):
        cdef _Descriptor d = self._d
        d.check_open()
        return d.writable

    def seekable(self):
        cdef _Descriptor d = self._d
        d.check_open()
        if self._seekable is None:
            try:
                os.lseek(d.fd, 0, os.SEEK_CUR)
            except OSError:
                self._seekable = False
            else:
                self._seekable = True
        return self._seekable

    def isatty(self):
        cdef _Descriptor d = self._d
        d.check_open()
        return os.isatty(d.fd)

    def _has_waiters(self):
        """A greenlet is blocked in a read or a write of this stream."""
        return (<_Descriptor?>self._d).has_waiters()

    def close(self):
        cdef _Descriptor d = self._d
        if d.closed:
            return
        try:
            self.flush()
        finally:
            d.closed = True
            d.close_c()

    # -- reading ----------------------------------------------------------------------

    def readinto(self, b):
        cdef _Descriptor d = self._d
        cdef Py_buffer view
        d.check_readable()
        try:
            PyObject_GetBuffer(b, &view, PyBUF_WRITABLE)
        except BufferError:
            # io.FileIO's error for a read-only buffer.
            raise TypeError('readinto() argument must be read-write bytes-like object, not %s'
                            % type(b).__name__) from None
        try:
            return d.read_c(<char*>view.buf, view.len)
        finally:
            PyBuffer_Release(&view)

    def read(self, size=-1):
        cdef _Descriptor d = self._d
        cdef Py_ssize_t n, got
        cdef PyObject* raw
        if size is None or size < 0:
            return self.readall()
        d.check_readable()
        n = size
        raw = _new_buffer(n)
        try:
            got = d.read_c(PyBytes_AS_STRING(<object>raw), n)
        except BaseException:
            Py_DECREF(<object>raw)
            raise
        # Shrunk in place, as os.read does.
        return _finish_buffer(raw, got)

    def readall(self):
        cdef _Descriptor d = self._d
        d.check_readable()
        return d.readall_c()

    # -- writing ----------------------------------------------------------------------

    def write(self, b):
        cdef _Descriptor d = self._d
        cdef Py_buffer view
        d.check_writable()
        PyObject_GetBuffer(b, &view, PyBUF_SIMPLE)
        try:
            return d.write_c(<const char*>view.buf, view.len)
        finally:
            PyBuffer_Release(&view)

    # -- positioning ----------------------------------------------------------------------

    def seek(self, offset, whence=os.SEEK_SET):
        cdef _Descriptor d = self._d
        d.check_open()
        return os.lseek(d.fd, offset, whence)

    def truncate(self, size=None):
        cdef _Descriptor d = self._d
        d.check_writable()
        if size is None:
            size = self.tell()
        os.ftruncate(d.fd, size)
        return size

    def __repr__(self):
        cdef _Descriptor d = self._d
        return '<%s at 0x%x fileno=%s mode=%r>' % (
            type(self).__name__, id(self), d.fd if not d.closed else None, self.mode)


class GreenFileDescriptorIOWriteall(WriteIsWriteallMixin, GreenFileDescriptorIO):
    pass


class GreenOpenDescriptor(OpenDescriptor):
    """OpenDescriptor whose raw stream is always a GreenFileDescriptorIO."""

    def _do_open_raw(self):
        if self.is_fd():
            return GreenFileDescriptorIO(self._fobj, self, closefd=self.closefd)
        # A path (we open it, and own what we opened) or a file object of
        # the caller's (closed with us when closefd).
        owner = OpenDescriptor._do_open_raw(self)
        ours = owner is not self._fobj
        try:
            fileio = GreenFileDescriptorIO(owner.fileno(), self, closefd=False)
        except BaseException:
            if ours:
                owner.close()
            raise
        if ours or self.closefd:
            fileio._keep_alive = owner
        try:
            fileio.name = owner.name
        except AttributeError:
            del fileio.name
        return fileio

    def _make_atomic_write(self, result, raw):
        if type(result) is GreenFileDescriptorIO:
            result.__class__ = GreenFileDescriptorIOWriteall
            return result
        return OpenDescriptor._make_atomic_write(self, result, raw)


class FileObjectPosix(FileObjectBase):
    """FileObjectPosix(fobj, mode='r', buffering=-1, closefd=True, encoding=None, errors=None, newline=None)

    A cooperative file object over a non-blocking descriptor (pipes, ttys,
    sockets); the arguments are those of :func:`open`. Its ``fileio``
    attribute is the raw stream.

    Regular files are never "not ready", so their reads and writes are not
    cooperative; see FileObjectThread for those.
    """

    default_bufsize = io.DEFAULT_BUFFER_SIZE

    def __init__(self, *args, **kwargs):
        descriptor = GreenOpenDescriptor(*args, **kwargs)
        FileObjectBase.__init__(self, descriptor)
        self.fileio = descriptor.opened_raw()

    def _do_close(self, fobj, closefd):
        fileio, self.fileio = self.fileio, None
        if fobj is not fileio and fileio._has_waiters():
            # The blocked greenlet holds the lock of the buffered layer
            # (closing it now: "reentrant call"), and would wait forever.
            # Close the stream under it first: the waiter gets cancel_wait_ex
            # from a hub callback and lets go of the layer, closed in the
            # callback after that one.
            loop = fileio.hub.loop
            fileio.close()
            loop.run_callback(_close_layers, fobj)
            return
        try:
            fobj.close()
        finally:
            # The descriptor, when it is ours (fobj.close() does not reach it
            # when a buffered object of the caller's sits on top).
            fileio.close()


def _close_layers(fobj):
    # A hub callback. The descriptor is already closed: flushing what a
    # writer left in the buffer can only fail.
    try:
        fobj.close()
    except (OSError, ValueError):
        pass
