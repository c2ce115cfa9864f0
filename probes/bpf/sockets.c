/* Sockets: socket(), connect(), accept()/accept4(), bind(), listen().
 * The local address of a TCP connect() comes from inet_sock_set_state,
 * which fires in the connecting thread when the socket enters SYN_SENT. */

#define K_SOCKET  20
#define K_CONNECT 21
#define K_ACCEPT  22
#define K_BIND    23
#define K_LISTEN  24

#define OP_CONNECT 1
#define OP_ACCEPT  2
#define OP_BIND    3
#define OP_LISTEN  4

struct sock_event_t {
    struct hdr_t h;
    s64 result;
    s32 fd;
    u16 family;
    u16 op;
    u16 lport;
    u16 rport;
    u32 pad;
    u8 laddr[16];
    u8 raddr[16];
    char path[UNIX_PATH_LEN];
};

BPF_PERCPU_ARRAY(sock_scratch, struct sock_event_t, 1);

/* struct sockaddr_in / sockaddr_in6 / sockaddr_un, read field by field. */
static __always_inline void read_sockaddr(struct sock_event_t *e, void *uaddr, int remote)
{
    u16 family = 0;
    read_user(&family, sizeof(family), uaddr);
    e->family = family;
    if (family == 2) {  /* AF_INET: port at +2, addr at +4 */
        u16 port = 0;
        read_user(&port, sizeof(port), uaddr + 2);
        if (remote) {
            e->rport = port;
            read_user(e->raddr, 4, uaddr + 4);
        } else {
            e->lport = port;
            read_user(e->laddr, 4, uaddr + 4);
        }
    } else if (family == 10) {  /* AF_INET6: port at +2, addr at +8 */
        u16 port = 0;
        read_user(&port, sizeof(port), uaddr + 2);
        if (remote) {
            e->rport = port;
            read_user(e->raddr, 16, uaddr + 8);
        } else {
            e->lport = port;
            read_user(e->laddr, 16, uaddr + 8);
        }
    } else if (family == 1) {  /* AF_UNIX: path at +2 (may start with NUL: abstract) */
        read_user(e->path, UNIX_PATH_LEN, uaddr + 2);
    }
}

static __always_inline struct sock_event_t *new_sock_event(u16 op, s32 fd, long ret)
{
    int zero = 0;
    struct sock_event_t *e = sock_scratch.lookup(&zero);
    if (!e)
        return 0;
    __builtin_memset(e, 0, sizeof(*e));
    fill_hdr(&e->h, EV_SOCK);
    e->op = op;
    e->fd = fd;
    e->result = ret;
    return e;
}

SYSCALL_ENTER(socket)
{
    struct args3_t r = syscall_args3(ctx);
    stash_args(K_SOCKET, r.a0, r.a1, r.a2);
    return 0;
}

SYSCALL_EXIT(socket)
{
    struct args_t *a = take_args(K_SOCKET);
    if (!a)
        return 0;
    struct args_t s = *a;
    a->kind = 0;
    if (SYSCALL_RET < 0)
        return 0;
    flush_fd(ctx, bpf_get_current_pid_tgid() >> 32, (s32)SYSCALL_RET);
    int zero = 0;
    struct fd_event_t *e = fd_scratch.lookup(&zero);
    if (!e)
        return 0;
    fill_hdr(&e->h, EV_SOCKET);
    e->result = SYSCALL_RET;
    e->a0 = s.a0;
    e->a1 = s.a1;
    e->a2 = s.a2;
    e->a3 = 0;
    __builtin_memset(&e->io, 0, sizeof(e->io));
    events.perf_submit(ctx, e, FD_EVENT_NOPATH);
    return 0;
}

SYSCALL_ENTER(connect)
{
    struct args3_t r = syscall_args3(ctx);
    stash_args(K_CONNECT, r.a0, r.a1, r.a2);
    return 0;
}

/* Sockets in the middle of a TCP connect(), by kernel socket address: the
 * local port is only chosen after the socket enters SYN_SENT, so it is read
 * when the socket becomes ESTABLISHED, which may happen in another task's
 * context (a softirq): the map says whose socket it is. */
struct connecting_t {
    u32 pid;
    s32 fd;
};
BPF_HASH(connecting, u64, struct connecting_t, 16384);

#define OP_LOCAL 5

TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
    u64 sk = (u64)args->skaddr;
    if (args->newstate == 2) {  /* TCP_SYN_SENT, inside connect() */
        struct args_t *a = take_args(K_CONNECT);
        if (!a)
            return 0;
        struct connecting_t c = {.pid = bpf_get_current_pid_tgid() >> 32, .fd = (s32)a->a0};
        connecting.update(&sk, &c);
        return 0;
    }
    if (args->newstate == 10) {  /* TCP_LISTEN, inside listen(): the bound port */
        struct args_t *a = take_args(K_LISTEN);
        if (!a)
            return 0;
        a->lport = args->sport;  /* host byte order in this tracepoint */
        a->lfamily = args->family;
        if (args->family == 2)
            __builtin_memcpy(a->laddr, args->saddr, 4);
        else
            __builtin_memcpy(a->laddr, args->saddr_v6, 16);
        return 0;
    }
    struct connecting_t *c = connecting.lookup(&sk);
    if (!c)
        return 0;
    if (args->newstate == 1) {  /* TCP_ESTABLISHED: the local end is known */
        struct sock_event_t *e = new_sock_event(OP_LOCAL, c->fd, 0);
        if (e) {
            e->h.pid = c->pid;  /* possibly not the current task */
            e->family = args->family;
            e->lport = (args->sport >> 8) | (args->sport << 8);
            e->rport = (args->dport >> 8) | (args->dport << 8);
            if (args->family == 2) {
                __builtin_memcpy(e->laddr, args->saddr, 4);
                __builtin_memcpy(e->raddr, args->daddr, 4);
            } else {
                __builtin_memcpy(e->laddr, args->saddr_v6, 16);
                __builtin_memcpy(e->raddr, args->daddr_v6, 16);
            }
            events.perf_submit(args, e, sizeof(*e));
        }
    }
    connecting.delete(&sk);  /* established, or failed (CLOSE) */
    return 0;
}

SYSCALL_EXIT(connect)
{
    struct args_t *a = take_args(K_CONNECT);
    if (!a)
        return 0;
    struct args_t s = *a;
    a->kind = 0;
    struct sock_event_t *e = new_sock_event(OP_CONNECT, (s32)s.a0, SYSCALL_RET);
    if (!e)
        return 0;
    read_sockaddr(e, (void *)s.a1, 1);
    if (s.lfamily) {
        e->lport = (s.lport >> 8) | (s.lport << 8);  /* to network order, like the sockaddr */
        __builtin_memcpy(e->laddr, s.laddr, 16);
    }
    events.perf_submit(ctx, e, sizeof(*e));
    return 0;
}

static __always_inline int accept_enter(u64 fd, u64 uaddr)
{
    stash_args(K_ACCEPT, fd, uaddr, 0);
    return 0;
}

static __always_inline int accept_exit(void *ctx, long ret)
{
    struct args_t *a = take_args(K_ACCEPT);
    if (!a)
        return 0;
    struct args_t s = *a;
    a->kind = 0;
    if (ret < 0)
        return 0;
    flush_fd(ctx, bpf_get_current_pid_tgid() >> 32, (s32)ret);
    struct sock_event_t *e = new_sock_event(OP_ACCEPT, (s32)s.a0, ret);
    if (!e)
        return 0;
    if (s.a1)
        read_sockaddr(e, (void *)s.a1, 1);
    events.perf_submit(ctx, e, sizeof(*e));
    return 0;
}

SYSCALL_ENTER(accept) { return accept_enter(syscall_arg(ctx, 0), syscall_arg(ctx, 1)); }
SYSCALL_EXIT(accept) { return accept_exit(ctx, SYSCALL_RET); }
SYSCALL_ENTER(accept4) { return accept_enter(syscall_arg(ctx, 0), syscall_arg(ctx, 1)); }
SYSCALL_EXIT(accept4) { return accept_exit(ctx, SYSCALL_RET); }

SYSCALL_ENTER(bind)
{
    struct args3_t r = syscall_args3(ctx);
    stash_args(K_BIND, r.a0, r.a1, r.a2);
    return 0;
}

SYSCALL_EXIT(bind)
{
    struct args_t *a = take_args(K_BIND);
    if (!a)
        return 0;
    struct args_t s = *a;
    a->kind = 0;
    struct sock_event_t *e = new_sock_event(OP_BIND, (s32)s.a0, SYSCALL_RET);
    if (!e)
        return 0;
    read_sockaddr(e, (void *)s.a1, 0);
    events.perf_submit(ctx, e, sizeof(*e));
    return 0;
}

SYSCALL_ENTER(listen)
{
    stash_args(K_LISTEN, syscall_arg(ctx, 0), 0, 0);
    return 0;
}

SYSCALL_EXIT(listen)
{
    struct args_t *a = take_args(K_LISTEN);
    if (!a)
        return 0;
    struct args_t s = *a;
    a->kind = 0;
    struct sock_event_t *e = new_sock_event(OP_LISTEN, (s32)s.a0, SYSCALL_RET);
    if (!e)
        return 0;
    if (s.lfamily) {
        e->family = s.lfamily;
        e->lport = (s.lport >> 8) | (s.lport << 8);
        __builtin_memcpy(e->laddr, s.laddr, 16);
    }
    events.perf_submit(ctx, e, sizeof(*e));
    return 0;
}
