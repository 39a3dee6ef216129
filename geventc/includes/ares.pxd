# The only place c-ares's C API is declared (`ares.h`, c-ares >= 1.16 for
# ares_getaddrinfo). _ares.pyx calls through this namespace.
#
# c-ares calls the callbacks below from inside ares_process_fd(),
# ares_destroy() and, for answers it has at once (hosts file, bad names),
# from inside the query function itself: they must never raise, so their
# pointer types are `noexcept`.

from posix.time cimport timeval


# The socket address types are POSIX's, declared once in sockets.pxd.
from geventc.includes.sockets cimport (
    in_addr, in6_addr, sockaddr, sockaddr_in, sockaddr_in6, ntohs, htons, ntohl, htonl)


cdef extern from "netdb.h" nogil:
    struct hostent:
        char* h_name
        char** h_aliases
        int h_addrtype
        int h_length
        char** h_addr_list


cdef extern from "ares.h" nogil:
    ctypedef int ares_socket_t
    ctypedef int ares_socklen_t
    ctypedef void* ares_channel

    int ARES_SUCCESS
    int ARES_ENODATA
    int ARES_EFORMERR
    int ARES_ESERVFAIL
    int ARES_ENOTFOUND
    int ARES_ENOTIMP
    int ARES_EREFUSED
    int ARES_EBADQUERY
    int ARES_EBADNAME
    int ARES_EBADFAMILY
    int ARES_EBADRESP
    int ARES_ECONNREFUSED
    int ARES_ETIMEOUT
    int ARES_EOF
    int ARES_EFILE
    int ARES_ENOMEM
    int ARES_EDESTRUCTION
    int ARES_EBADSTR
    int ARES_EBADFLAGS
    int ARES_ENONAME
    int ARES_EBADHINTS
    int ARES_ENOTINITIALIZED
    int ARES_ECANCELLED
    int ARES_ESERVICE

    int ARES_LIB_INIT_ALL

    int ARES_FLAG_USEVC
    int ARES_FLAG_PRIMARY
    int ARES_FLAG_IGNTC
    int ARES_FLAG_NORECURSE
    int ARES_FLAG_STAYOPEN
    int ARES_FLAG_NOSEARCH
    int ARES_FLAG_NOALIASES
    int ARES_FLAG_NOCHECKRESP

    int ARES_OPT_FLAGS
    int ARES_OPT_TIMEOUT
    int ARES_OPT_TRIES
    int ARES_OPT_NDOTS
    int ARES_OPT_UDP_PORT
    int ARES_OPT_TCP_PORT
    int ARES_OPT_SERVERS
    int ARES_OPT_DOMAINS
    int ARES_OPT_LOOKUPS
    int ARES_OPT_SOCK_STATE_CB
    int ARES_OPT_TIMEOUTMS

    int ARES_AI_CANONNAME
    int ARES_AI_NUMERICHOST
    int ARES_AI_PASSIVE
    int ARES_AI_NUMERICSERV
    int ARES_AI_V4MAPPED
    int ARES_AI_ALL
    int ARES_AI_ADDRCONFIG
    int ARES_AI_NOSORT

    int ARES_NI_NOFQDN
    int ARES_NI_NUMERICHOST
    int ARES_NI_NAMEREQD
    int ARES_NI_NUMERICSERV
    int ARES_NI_DGRAM
    int ARES_NI_LOOKUPHOST
    int ARES_NI_LOOKUPSERVICE

    ares_socket_t ARES_SOCKET_BAD

    ctypedef void (*ares_sock_state_cb)(void* data, ares_socket_t socket_fd,
                                        int readable, int writable) noexcept
    ctypedef void (*ares_host_callback)(void* arg, int status, int timeouts,
                                        hostent* host) noexcept
    ctypedef void (*ares_nameinfo_callback)(void* arg, int status, int timeouts,
                                            char* node, char* service) noexcept

    struct ares_options:
        int flags
        int timeout
        int tries
        int ndots
        unsigned short udp_port
        unsigned short tcp_port
        int socket_send_buffer_size
        int socket_receive_buffer_size
        in_addr* servers
        int nservers
        char** domains
        int ndomains
        char* lookups
        ares_sock_state_cb sock_state_cb
        void* sock_state_cb_data

    struct ares_addrinfo_cname:
        int ttl
        char* alias
        char* name
        ares_addrinfo_cname* next

    struct ares_addrinfo_node:
        int ai_ttl
        int ai_flags
        int ai_family
        int ai_socktype
        int ai_protocol
        ares_socklen_t ai_addrlen
        sockaddr* ai_addr
        ares_addrinfo_node* ai_next

    struct ares_addrinfo:
        ares_addrinfo_cname* cnames
        ares_addrinfo_node* nodes
        char* name

    struct ares_addrinfo_hints:
        int ai_flags
        int ai_family
        int ai_socktype
        int ai_protocol

    ctypedef void (*ares_addrinfo_callback)(void* arg, int status, int timeouts,
                                            ares_addrinfo* res) noexcept

    int ares_library_init(int flags)
    const char* ares_version(int* version)
    const char* ares_strerror(int code)

    int ares_init_options(ares_channel* channelptr, ares_options* options, int optmask)
    int ares_save_options(ares_channel channel, ares_options* options, int* optmask)
    void ares_destroy_options(ares_options* options)
    void ares_destroy(ares_channel channel)
    void ares_cancel(ares_channel channel)
    int ares_set_servers_ports_csv(ares_channel channel, const char* servers)

    void ares_gethostbyname(ares_channel channel, const char* name, int family,
                            ares_host_callback callback, void* arg)
    void ares_gethostbyaddr(ares_channel channel, const void* addr, int addrlen,
                            int family, ares_host_callback callback, void* arg)
    void ares_getnameinfo(ares_channel channel, const sockaddr* sa, ares_socklen_t salen,
                          int flags, ares_nameinfo_callback callback, void* arg)
    void ares_getaddrinfo(ares_channel channel, const char* node, const char* service,
                          const ares_addrinfo_hints* hints,
                          ares_addrinfo_callback callback, void* arg)
    void ares_freeaddrinfo(ares_addrinfo* ai)

    timeval* ares_timeout(ares_channel channel, timeval* maxtv, timeval* tv)
    void ares_process_fd(ares_channel channel, ares_socket_t read_fd, ares_socket_t write_fd)

    int ares_inet_pton(int af, const char* src, void* dst)
    const char* ares_inet_ntop(int af, const void* src, char* dst, ares_socklen_t size)
