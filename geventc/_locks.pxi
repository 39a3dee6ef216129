# Semaphores and locks, compiled into the _hub module (included at the end
# of _hub.pyx; their declarations are in _locks_decl.pxi, included by
# _hub.pxd). Filled in by the queues/locks work (issue 4).
