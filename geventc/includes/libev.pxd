# The only place libev's C API is declared. Every other module calls through
# this namespace (`libev.ev_io_start(...)`), as uvloop does with uv.pxd.
#
# Callbacks handed to libev must never raise: their pointer types below are
# `noexcept`, so Cython refuses a callback that could leak an exception.

cdef extern from "ev.h" nogil:
    ctypedef double ev_tstamp

    int EV_MINPRI
    int EV_MAXPRI
    int EV_VERSION_MAJOR
    int EV_VERSION_MINOR

    int EV_UNDEF
    int EV_NONE
    int EV_READ
    int EV_WRITE
    int EV__IOFDSET
    int EV_TIMER
    int EV_PERIODIC
    int EV_SIGNAL
    int EV_CHILD
    int EV_STAT
    int EV_IDLE
    int EV_PREPARE
    int EV_CHECK
    int EV_EMBED
    int EV_FORK
    int EV_CLEANUP
    int EV_ASYNC
    int EV_CUSTOM
    int EV_ERROR

    unsigned int EVFLAG_AUTO
    unsigned int EVFLAG_NOENV
    unsigned int EVFLAG_FORKCHECK
    unsigned int EVFLAG_NOINOTIFY
    unsigned int EVFLAG_SIGNALFD
    unsigned int EVFLAG_NOSIGMASK
    unsigned int EVFLAG_NOTIMERFD

    unsigned int EVBACKEND_SELECT
    unsigned int EVBACKEND_POLL
    unsigned int EVBACKEND_EPOLL
    unsigned int EVBACKEND_KQUEUE
    unsigned int EVBACKEND_DEVPOLL
    unsigned int EVBACKEND_PORT
    unsigned int EVBACKEND_LINUXAIO
    unsigned int EVBACKEND_IOURING
    unsigned int EVBACKEND_ALL
    unsigned int EVBACKEND_MASK

    int EVRUN_NOWAIT
    int EVRUN_ONCE
    int EVBREAK_CANCEL
    int EVBREAK_ONE
    int EVBREAK_ALL

    struct ev_loop:
        pass

    # Every watcher starts with these fields (EV_WATCHER in ev.h); only the
    # ones geventc reads are declared.
    ctypedef struct ev_watcher:
        int active
        int pending
        void* data

    ctypedef struct ev_io:
        int active
        int pending
        void* data
        int fd
        int events

    ctypedef struct ev_timer:
        int active
        int pending
        void* data
        ev_tstamp repeat

    ctypedef struct ev_signal:
        int active
        int pending
        void* data
        int signum

    ctypedef struct ev_child:
        int active
        int pending
        void* data
        int pid
        int rpid
        int rstatus

    ctypedef struct ev_timespec "struct timespec":
        long tv_sec
        long tv_nsec

    ctypedef struct ev_statdata:
        unsigned long st_dev
        unsigned long st_ino
        unsigned int st_mode
        unsigned long st_nlink
        unsigned int st_uid
        unsigned int st_gid
        unsigned long st_rdev
        long st_size
        long st_atime
        long st_mtime
        long st_ctime
        # ev_statdata is struct stat on POSIX: the nanosecond times.
        ev_timespec st_atim
        ev_timespec st_mtim
        ev_timespec st_ctim

    ctypedef struct ev_stat:
        int active
        int pending
        void* data
        ev_tstamp interval
        const char* path
        ev_statdata prev
        ev_statdata attr

    ctypedef struct ev_idle:
        int active
        int pending
        void* data

    ctypedef struct ev_prepare:
        int active
        int pending
        void* data

    ctypedef struct ev_check:
        int active
        int pending
        void* data

    ctypedef struct ev_fork:
        int active
        int pending
        void* data

    ctypedef struct ev_async:
        int active
        int pending
        void* data


# Typed callback pointers (defined here, not in ev.h): a missing `noexcept`
# is a compile error, where a cast through void* would hide it. Not nogil:
# libev calls them with the GIL held (it is released only around the poll,
# by the loop's release/acquire callbacks).
cdef extern from *:
    """
    typedef void (*geventc_ev_io_cb)(struct ev_loop*, ev_io*, int);
    typedef void (*geventc_ev_timer_cb)(struct ev_loop*, ev_timer*, int);
    typedef void (*geventc_ev_signal_cb)(struct ev_loop*, ev_signal*, int);
    typedef void (*geventc_ev_stat_cb)(struct ev_loop*, ev_stat*, int);
    typedef void (*geventc_ev_idle_cb)(struct ev_loop*, ev_idle*, int);
    typedef void (*geventc_ev_prepare_cb)(struct ev_loop*, ev_prepare*, int);
    typedef void (*geventc_ev_check_cb)(struct ev_loop*, ev_check*, int);
    typedef void (*geventc_ev_fork_cb)(struct ev_loop*, ev_fork*, int);
    typedef void (*geventc_ev_async_cb)(struct ev_loop*, ev_async*, int);
    typedef void (*geventc_ev_loop_cb)(struct ev_loop*);
    """
    ctypedef void (*ev_io_cb "geventc_ev_io_cb")(ev_loop*, ev_io*, int) noexcept
    ctypedef void (*ev_timer_cb "geventc_ev_timer_cb")(ev_loop*, ev_timer*, int) noexcept
    ctypedef void (*ev_signal_cb "geventc_ev_signal_cb")(ev_loop*, ev_signal*, int) noexcept
    ctypedef void (*ev_stat_cb "geventc_ev_stat_cb")(ev_loop*, ev_stat*, int) noexcept
    ctypedef void (*ev_idle_cb "geventc_ev_idle_cb")(ev_loop*, ev_idle*, int) noexcept
    ctypedef void (*ev_prepare_cb "geventc_ev_prepare_cb")(ev_loop*, ev_prepare*, int) noexcept
    ctypedef void (*ev_check_cb "geventc_ev_check_cb")(ev_loop*, ev_check*, int) noexcept
    ctypedef void (*ev_fork_cb "geventc_ev_fork_cb")(ev_loop*, ev_fork*, int) noexcept
    ctypedef void (*ev_async_cb "geventc_ev_async_cb")(ev_loop*, ev_async*, int) noexcept
    ctypedef void (*ev_loop_cb "geventc_ev_loop_cb")(ev_loop*) noexcept nogil


cdef extern from "ev.h" nogil:
    int ev_version_major()
    int ev_version_minor()
    unsigned int ev_supported_backends()
    unsigned int ev_recommended_backends()
    unsigned int ev_embeddable_backends()
    ev_tstamp ev_time()
    void ev_sleep(ev_tstamp)
    void ev_set_syserr_cb(void (*cb)(const char* msg) noexcept)

    ev_loop* ev_loop_new(unsigned int flags)
    void ev_loop_destroy(ev_loop*)
    void ev_loop_fork(ev_loop*)
    unsigned int ev_backend(ev_loop*)
    ev_tstamp ev_now(ev_loop*)
    void ev_now_update(ev_loop*)
    void ev_suspend(ev_loop*)
    void ev_resume(ev_loop*)
    int ev_run(ev_loop*, int flags)
    void ev_break(ev_loop*, int how)
    void ev_ref(ev_loop*)
    void ev_unref(ev_loop*)
    unsigned int ev_iteration(ev_loop*)
    unsigned int ev_depth(ev_loop*)
    void ev_verify(ev_loop*)
    unsigned int ev_pending_count(ev_loop*)
    void ev_set_userdata(ev_loop*, void* data)
    void* ev_userdata(ev_loop*)
    void ev_set_loop_release_cb(ev_loop*, ev_loop_cb release, ev_loop_cb acquire)
    void ev_feed_event(ev_loop*, void* w, int revents)
    void ev_feed_fd_event(ev_loop*, int fd, int revents)
    int ev_clear_pending(ev_loop*, void* w)

    bint ev_is_active(void*)
    bint ev_is_pending(void*)
    int ev_priority(void*)
    void ev_set_priority(void*, int)

    void ev_io_init(ev_io*, ev_io_cb, int fd, int events)
    void ev_io_set(ev_io*, int fd, int events)
    void ev_io_start(ev_loop*, ev_io*)
    void ev_io_stop(ev_loop*, ev_io*)

    void ev_timer_init(ev_timer*, ev_timer_cb, ev_tstamp after, ev_tstamp repeat)
    void ev_timer_set(ev_timer*, ev_tstamp after, ev_tstamp repeat)
    void ev_timer_start(ev_loop*, ev_timer*)
    void ev_timer_stop(ev_loop*, ev_timer*)
    void ev_timer_again(ev_loop*, ev_timer*)
    ev_tstamp ev_timer_remaining(ev_loop*, ev_timer*)

    void ev_signal_init(ev_signal*, ev_signal_cb, int signum)
    void ev_signal_start(ev_loop*, ev_signal*)
    void ev_signal_stop(ev_loop*, ev_signal*)

    void ev_stat_init(ev_stat*, ev_stat_cb, const char* path, ev_tstamp interval)
    void ev_stat_start(ev_loop*, ev_stat*)
    void ev_stat_stop(ev_loop*, ev_stat*)
    void ev_stat_stat(ev_loop*, ev_stat*)

    void ev_idle_init(ev_idle*, ev_idle_cb)
    void ev_idle_start(ev_loop*, ev_idle*)
    void ev_idle_stop(ev_loop*, ev_idle*)

    void ev_prepare_init(ev_prepare*, ev_prepare_cb)
    void ev_prepare_start(ev_loop*, ev_prepare*)
    void ev_prepare_stop(ev_loop*, ev_prepare*)

    void ev_check_init(ev_check*, ev_check_cb)
    void ev_check_start(ev_loop*, ev_check*)
    void ev_check_stop(ev_loop*, ev_check*)

    void ev_fork_init(ev_fork*, ev_fork_cb)
    void ev_fork_start(ev_loop*, ev_fork*)
    void ev_fork_stop(ev_loop*, ev_fork*)

    void ev_async_init(ev_async*, ev_async_cb)
    void ev_async_start(ev_loop*, ev_async*)
    void ev_async_stop(ev_loop*, ev_async*)
    void ev_async_send(ev_loop*, ev_async*)
    bint ev_async_pending(ev_async*)
