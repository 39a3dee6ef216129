# The only place the POSIX socket calls geventc._socket makes are declared
# (sys/socket.h, sys/uio.h, netinet/in.h, sys/un.h, arpa/inet.h, sys/sendfile.h), and
# the head of CPython's socket object, whose layout is not a public header.

from posix.types cimport off_t

cdef extern from "<sys/uio.h>" nogil:
    struct iovec:
        void* iov_base
        size_t iov_len


cdef extern from "<sys/socket.h>" nogil:
    ctypedef unsigned int socklen_t
    ctypedef unsigned short sa_family_t

    struct sockaddr:
        sa_family_t sa_family
        char sa_data[14]

    struct sockaddr_storage:
        sa_family_t ss_family

    int AF_UNSPEC
    int AF_INET
    int AF_INET6
    int AF_UNIX
    int SOL_SOCKET
    int SO_ERROR
    int SOCK_CLOEXEC
    int SOCK_NONBLOCK
    int SOCK_STREAM
    int MSG_DONTWAIT
    int SCM_RIGHTS

    struct msghdr:
        void* msg_name
        socklen_t msg_namelen
        iovec* msg_iov
        size_t msg_iovlen
        void* msg_control
        size_t msg_controllen
        int msg_flags

    struct cmsghdr:
        size_t cmsg_len
        int cmsg_level
        int cmsg_type

    cmsghdr* CMSG_FIRSTHDR(msghdr* msg)
    cmsghdr* CMSG_NXTHDR(msghdr* msg, cmsghdr* cmsg)
    unsigned char* CMSG_DATA(cmsghdr* cmsg)
    size_t CMSG_LEN(size_t length)
    size_t CMSG_SPACE(size_t length)

    ssize_t recv(int fd, void* buf, size_t n, int flags)
    ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* addr, socklen_t* addrlen)
    ssize_t send(int fd, const void* buf, size_t n, int flags)
    ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* addr, socklen_t addrlen)
    ssize_t recvmsg(int fd, msghdr* msg, int flags)
    ssize_t sendmsg(int fd, const msghdr* msg, int flags)
    int accept4(int fd, sockaddr* addr, socklen_t* addrlen, int flags)
    int getsockopt(int fd, int level, int optname, void* optval, socklen_t* optlen)


cdef extern from "<netinet/in.h>" nogil:
    struct in_addr:
        unsigned int s_addr

    struct in6_addr:
        unsigned char s6_addr[16]

    struct sockaddr_in:
        sa_family_t sin_family
        unsigned short sin_port
        in_addr sin_addr

    struct sockaddr_in6:
        sa_family_t sin6_family
        unsigned short sin6_port
        unsigned int sin6_flowinfo
        in6_addr sin6_addr
        unsigned int sin6_scope_id

    unsigned short ntohs(unsigned short)
    unsigned short htons(unsigned short)
    unsigned int ntohl(unsigned int)
    unsigned int htonl(unsigned int)
    int INET_ADDRSTRLEN
    int INET6_ADDRSTRLEN


cdef extern from "<sys/un.h>" nogil:
    struct sockaddr_un:
        sa_family_t sun_family
        char sun_path[108]


cdef extern from "<arpa/inet.h>" nogil:
    const char* inet_ntop(int af, const void* src, char* dst, socklen_t size)
    int inet_pton(int af, const char* src, void* dst)


cdef extern from "<sys/sendfile.h>" nogil:
    ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count)


cdef extern from "<stddef.h>" nogil:
    # offsetof(struct sockaddr_un, sun_path), as a constant of this header.
    """
    #include <sys/un.h>
    #define GEVENTC_SUN_PATH_OFFSET ((Py_ssize_t)offsetof(struct sockaddr_un, sun_path))
    """
    Py_ssize_t GEVENTC_SUN_PATH_OFFSET


cdef extern from *:
    # CPython's socket object (Modules/socketmodule.h) starts with the
    # descriptor in every version since 3.0; only that field is read, and
    # _socket.pyx checks it against fileno() at import before trusting it.
    """
    typedef struct {
        PyObject_HEAD
        int sock_fd;
    } geventc_PySocketSockObject_head;
    """
    ctypedef struct geventc_PySocketSockObject_head:
        int sock_fd


cdef extern from "<sys/ioctl.h>" nogil:
    int ioctl(int fd, unsigned long request, ...)
    unsigned long FIONREAD
