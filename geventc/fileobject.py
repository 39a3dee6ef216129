"""Cooperative file objects (gevent.fileobject).

- :class:`FileObjectPosix` (POSIX): the descriptor is made non-blocking and a
  read or write that would block waits in the hub. For pipes, ttys and
  sockets.
- :class:`FileObjectThread`: every blocking call runs in the hub's thread
  pool. For any file, regular files included.
- :class:`FileObjectBlock`: plain blocking calls (testing and debugging).

``FileObject`` is the default one: :class:`FileObjectPosix` where ``fcntl``
exists, else :class:`FileObjectThread`. Choose another with the
``GEVENT_FILE`` environment variable (``posix``, ``thread``, ``block`` or a
dotted class name), read when this module is first imported, or
``geventc.config.fileobject`` set before that.

All take the arguments of :func:`open`: ``fobj`` (a descriptor, a path or an
object with ``fileno()``), ``mode``, ``buffering``, ``closefd``,
``encoding``, ``errors``, ``newline``.
"""
from geventc._config import config
from geventc._fileobjectcommon import FileObjectBlock, FileObjectThread

__all__ = [
    'FileObjectPosix',
    'FileObjectThread',
    'FileObjectBlock',
    'FileObject',
]

try:
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - not POSIX
    __all__.remove('FileObjectPosix')
else:
    del _fcntl
    from geventc._fileobjectposix import FileObjectPosix

FileObject = config.fileobject
