"""FileObjectPosix: cooperative file objects on non-blocking descriptors
(gevent._fileobjectposix).

The descriptor is put in non-blocking mode. A read or write that would block
waits on an io watcher of the hub instead, so the other greenlets run; pipes,
ttys and sockets cooperate. A regular file never reports "would block": its
reads and writes run straight through (they take bounded time; use
FileObjectThread to move large disk transfers off the hub).

close() while another greenlet waits on the descriptor: that greenlet gets
``cancel_wait_ex`` from a hub callback, and the descriptor is closed after
it, so the loop never watches a closed (or already reused) descriptor.
"""
import io
import os

from geventc._fileobjectcommon import (
    FileObjectBase, OpenDescriptor, WriteIsWriteallMixin, cancel_wait_ex,
)
from geventc._socket import wait as _wait_on_watcher
from geventc.hub import get_hub
from geventc.os import make_nonblocking

__all__ = ['FileObjectPosix', 'GreenFileDescriptorIO', 'GreenOpenDescriptor']

_READ = 1
_WRITE = 2


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


class GreenFileDescriptorIO(io.RawIOBase):
    """A raw io stream over a descriptor in non-blocking mode; reads and
    writes that would block wait in the hub. Built by GreenOpenDescriptor."""

    _read_watcher = None
    _write_watcher = None
    _closed = False
    _seekable = None
    # The object that owns the descriptor (a path we opened, or the caller's
    # file when closefd): closed with us.
    _keep_alive = None

    def __init__(self, fileno, open_descriptor, closefd=True):
        io.RawIOBase.__init__(self)
        if isinstance(fileno, int) and fileno < 0:
            # The stdlib's error, before fcntl's EBADF.
            raise ValueError('negative file descriptor')
        self._closefd = closefd
        self._fileno = fileno
        self.name = fileno
        self.mode = open_descriptor.mode
        self._readable = open_descriptor.can_read
        self._writable = open_descriptor.can_write
        make_nonblocking(fileno)
        self.hub = get_hub()

    # -- state ------------------------------------------------------------------

    @property
    def closed(self):
        return self._closed

    def _check_open(self):
        if self._closed:
            raise ValueError('I/O operation on closed file')

    def fileno(self):
        self._check_open()
        return self._fileno

    def readable(self):
        self._check_open()
        return self._readable

    def writable(self):
        self._check_open()
        return self._writable

    def seekable(self):
        self._check_open()
        if self._seekable is None:
            try:
                os.lseek(self._fileno, 0, os.SEEK_CUR)
            except OSError:
                self._seekable = False
            else:
                self._seekable = True
        return self._seekable

    def isatty(self):
        self._check_open()
        return os.isatty(self._fileno)

    def close(self):
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._drop_watchers_and_close()

    def _drop_watchers_and_close(self):
        fileno, closefd, keep_alive = self._fileno, self._closefd, self._keep_alive
        self._keep_alive = None
        waited = []
        for watcher in (self._read_watcher, self._write_watcher):
            if watcher is None:
                continue
            if watcher.callback is None:
                watcher.close()
            else:
                waited.append(watcher)
        self._read_watcher = self._write_watcher = None
        hub, self.hub = self.hub, None
        if waited:
            hub.loop.run_callback(_close_after_waiters, hub, waited, fileno, closefd, keep_alive)
        else:
            _close_fd_and_owner(fileno, closefd, keep_alive)

    # -- waiting ----------------------------------------------------------------------

    def _watcher(self, event):
        # Made on the first wait: a stream that never blocks (a regular
        # file) never holds one.
        if event == _READ:
            if self._read_watcher is None:
                self._read_watcher = self.hub.loop.io(self._fileno, _READ)
            return self._read_watcher
        if self._write_watcher is None:
            self._write_watcher = self.hub.loop.io(self._fileno, _WRITE)
        return self._write_watcher

    def _wait(self, event):
        watcher = self._watcher(event)
        _wait_on_watcher(watcher, None, None, self.hub)
        if self._closed:
            raise cancel_wait_ex()

    # -- reading ----------------------------------------------------------------------

    def _check_readable(self):
        self._check_open()
        if not self._readable:
            raise io.UnsupportedOperation('File not open for reading')

    def readinto(self, b):
        self._check_readable()
        while True:
            try:
                return os.readv(self._fileno, (b,))
            except BlockingIOError:
                pass
            except InterruptedError:
                continue
            self._wait(_READ)

    def read(self, size=-1):
        if size is None or size < 0:
            return self.readall()
        self._check_readable()
        while True:
            try:
                return os.read(self._fileno, size)
            except BlockingIOError:
                pass
            except InterruptedError:
                continue
            self._wait(_READ)

    def readall(self):
        chunks = []
        while True:
            try:
                data = self.read(io.DEFAULT_BUFFER_SIZE * 8)
            except cancel_wait_ex:
                # Closed under us: hand back what arrived, as a buffered reader does.
                break
            if not data:
                break
            chunks.append(data)
        return b''.join(chunks)

    # -- writing ----------------------------------------------------------------------

    def write(self, b):
        self._check_open()
        if not self._writable:
            raise io.UnsupportedOperation('File not open for writing')
        while True:
            try:
                return os.write(self._fileno, b)
            except BlockingIOError:
                pass
            except InterruptedError:
                continue
            self._wait(_WRITE)

    # -- positioning ----------------------------------------------------------------------

    def seek(self, offset, whence=os.SEEK_SET):
        self._check_open()
        return os.lseek(self._fileno, offset, whence)

    def truncate(self, size=None):
        self._check_open()
        if not self._writable:
            raise io.UnsupportedOperation('File not open for writing')
        if size is None:
            size = self.tell()
        os.ftruncate(self._fileno, size)
        return size

    def __repr__(self):
        return '<%s at 0x%x fileno=%s mode=%r>' % (
            type(self).__name__, id(self), self._fileno, self.mode)


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
        try:
            fobj.close()
            # Closes the descriptor when it is ours (fobj.close() does not
            # reach it when a user-supplied buffered object sits on top).
            self.fileio.close()
        finally:
            self.fileio = None
