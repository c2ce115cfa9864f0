/* The fd lifecycle: open family, close (with the fd's pending I/O), dup
 * family, pipe. Each syscall has an enter probe that stashes its arguments
 * and an exit probe that emits the result. */

#define K_OPEN    1
#define K_OPENAT  2
#define K_OPENAT2 3
#define K_CREAT   4
#define K_CLOSE   5
#define K_DUP     6
#define K_PIPE    7

/* Generic layout for open/close/dup/pipe/socket; a0..a3 depend on type:
 *   open:   a0 = dirfd, a1 = flags, a2 = which syscall (K_*), a3 = path hash
 *   close:  a0 = fd, a1 = repeated opens not yet reported, a3 = their path hash,
 *           io = the fd's I/O not yet drained
 *   dup:    a0 = oldfd
 *   pipe:   a0 = read fd, a1 = write fd
 *   socket: a0 = family, a1 = type, a2 = protocol */
struct fd_event_t {
    struct hdr_t h;
    s64 result;
    s64 a0;
    s64 a1;
    s64 a2;
    u64 a3;
    struct fdio_t io;
    char path[PATH_LEN];
};

/* Open storms (the same path opened and closed over and over, on the same
 * fd) are folded in the kernel: the first open of a path on an fd is
 * streamed, later identical open/close cycles only bump `repeats`, and the
 * closes are not streamed. User space drains this map every tick, turning
 * repeats into counts and still-closed entries into closes. */
struct fdstate_t {
    u64 hash;
    u64 repeats;
    u32 flags;
    u32 open;
    struct fdio_t io;  /* I/O of folded open..close cycles, not yet reported */
};
BPF_HASH(fdstate, struct fd_key_t, struct fdstate_t, 65536);

/* Failed opens of one path by one process: first streamed, then counted. */
struct failkey_t {
    u32 pid;
    s32 err;
    u64 hash;
    u32 par;
    u32 pad;
};
BPF_HASH(openfail, struct failkey_t, u64, 16384);

static __always_inline u64 path_hash(const char *p)
{
    u64 h = 14695981039346656037ULL;  /* FNV-1a */
    for (int i = 0; i < PATH_LEN; i++) {
        char c = p[i];
        if (!c)
            break;
        h ^= (u8)c;
        h *= 1099511628211ULL;
    }
    return h;
}

BPF_PERCPU_ARRAY(fd_scratch, struct fd_event_t, 1);

#define FD_EVENT_NOPATH (sizeof(struct fd_event_t) - PATH_LEN)


/* An fd number is about to mean something else (another open, a socket, a
 * pipe, a dup target): report what the folded opens on it still owe, then
 * forget it. A closed fd that owes nothing (one open, no I/O: a build or a
 * `find` opening one file after another) needs no event: the event of what
 * the number means now replaces it in user space, so a burst of distinct
 * paths costs one event per open, not two. */
static __always_inline void flush_fd(void *ctx, u32 pid, s32 fd)
{
    struct fd_key_t k = {.pid = pid, .fd = fd, .par = cur_par()};
    struct fdstate_t *st = fdstate.lookup(&k);
    if (!st)
        return;
    if (st->repeats || st->io.reads || st->io.writes) {
        int zero = 0;
        struct fd_event_t *e = fd_scratch.lookup(&zero);
        if (e) {
            fill_hdr(&e->h, EV_CLOSE);
            e->result = st->open ? 1 : 0;  /* 1: still open, only the repeats */
            e->a0 = fd;
            e->a1 = st->repeats;
            e->a2 = 1;  /* a flush */
            e->a3 = st->hash;
            e->io = st->io;
            events.perf_submit(ctx, e, FD_EVENT_NOPATH);
        }
    }
    fdstate.delete(&k);
}

/* ---- open family ---- */

SYSCALL_ENTER(open)
{
    struct args3_t r = syscall_args3(ctx);
    stash_args(K_OPEN, r.a0, (u64)-100, r.a1);
    return 0;
}

SYSCALL_ENTER(openat2)
{
    u64 flags = 0;
    read_user(&flags, sizeof(flags), (void *)syscall_arg(ctx, 2));
    stash_args(K_OPENAT2, syscall_arg(ctx, 1), (u64)(s64)(int)syscall_arg(ctx, 0), flags);
    return 0;
}

SYSCALL_ENTER(creat)
{
    /* creat() is open(O_CREAT|O_WRONLY|O_TRUNC) */
    stash_args(K_CREAT, syscall_arg(ctx, 0), (u64)-100, 01 | 0100 | 01000);
    return 0;
}

static __always_inline int emit_open(void *ctx, struct args_t *a, u32 kind, long ret)
{
    int zero = 0;
    struct fd_event_t *e = fd_scratch.lookup(&zero);
    if (!e) {
        a->kind = 0;
        return 0;
    }
    u32 flags = (u32)a->a2;
    s64 dirfd = (s64)a->a1;
    e->path[0] = 0;
    long len = read_user_str(e->path, PATH_LEN, (void *)a->a0);
    a->kind = 0;
    u64 hash = path_hash(e->path) ^ ((u64)(u32)dirfd << 32);
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    if (ret >= 0) {
        struct fd_key_t k = {.pid = pid, .fd = (s32)ret, .par = cur_par()};
        struct fdstate_t *st = fdstate.lookup(&k);
        if (st && !st->open && st->hash == hash && st->flags == flags) {
            st->open = 1;
            __sync_fetch_and_add(&st->repeats, 1);
            return 0;
        }
        if (st)
            flush_fd(ctx, pid, (s32)ret);  /* what the fd number meant before */
        struct fdstate_t fresh = {.hash = hash, .flags = flags, .open = 1};
        if (fdstate.update(&k, &fresh) != 0)
            count_overflow();
    } else if (ret >= -4095) {
        struct failkey_t fk = {.pid = pid, .err = (s32)-ret, .hash = hash, .par = cur_par()};
        u64 *n = openfail.lookup(&fk);
        if (n) {
            __sync_fetch_and_add(n, 1);
            return 0;
        }
        u64 zero64 = 0;
        if (openfail.update(&fk, &zero64) != 0)
            count_overflow();
    }
    fill_hdr(&e->h, EV_OPEN);
    e->result = ret;
    e->a0 = dirfd;
    e->a1 = flags;
    e->a2 = kind;
    e->a3 = hash;
    /* only the bytes of the path (NUL included): a typical open event is
     * ~150 bytes instead of 376, so a burst of distinct paths fits twice
     * as many in the buffers */
    u32 n = len > 0 ? (u32)len : 1;
    if (n > PATH_LEN)
        n = PATH_LEN;
    events.perf_submit(ctx, e, FD_EVENT_NOPATH + n);
    return 0;
}

static __always_inline int open_exit(void *ctx, u32 kind, long ret)
{
    struct args_t *a = take_args(kind);
    return a ? emit_open(ctx, a, kind, ret) : 0;
}

/* openat's enter and exit run in the raw programs themselves (dispatch.c):
 * no tail call for the most frequent fd syscalls */
SYSCALL_EXIT(open) { return open_exit(ctx, K_OPEN, SYSCALL_RET); }
SYSCALL_EXIT(openat2) { return open_exit(ctx, K_OPENAT2, SYSCALL_RET); }
SYSCALL_EXIT(creat) { return open_exit(ctx, K_CREAT, SYSCALL_RET); }

/* ---- close ---- */

/* close: entered and left in the raw programs themselves (dispatch.c) */
static __always_inline int close_exit(void *ctx, struct args_t *a, long ret)
{
    s32 fd = (s32)a->a0;
    a->kind = 0;
    if (ret != 0)
        return 0;  /* EBADF and friends change nothing */
    struct fd_key_t sk = {.pid = bpf_get_current_pid_tgid() >> 32, .fd = fd, .par = cur_par()};
    struct fdstate_t *st = fdstate.lookup(&sk);
    if (st) {
        if (st->open) {
            /* folded: reported at the tick; the fd's I/O moves to the entry so
             * that the next file on this fd number does not inherit it */
            st->open = 0;
            struct fdio_t *io = fdio.lookup(&sk);
            if (io && (io->reads || io->writes)) {
                st->io.bytes_read += io->bytes_read;
                st->io.bytes_written += io->bytes_written;
                st->io.reads += io->reads;
                st->io.writes += io->writes;
                /* zeroed, not deleted: the next open on this fd number (a
                 * server opening the same file per request) finds it, where a
                 * delete and a new insert cost ~400 ns per cycle; user space
                 * drops the zeros when it drains the tick */
                __builtin_memset(io, 0, sizeof(*io));
            }
            return 0;
        }
        flush_fd(ctx, sk.pid, fd);  /* stale: the fd was reused by something untraced */
    }
    int zero = 0;
    struct fd_event_t *e = fd_scratch.lookup(&zero);
    if (!e)
        return 0;
    fill_hdr(&e->h, EV_CLOSE);
    e->result = ret;
    e->a0 = fd;
    e->a1 = 0;
    e->a2 = 0;
    e->a3 = 0;
    struct fd_key_t k = {.pid = e->h.pid, .fd = fd, .par = cur_par()};
    struct fdio_t *io = fdio.lookup(&k);
    if (io) {
        e->io = *io;
        fdio.delete(&k);
    } else {
        __builtin_memset(&e->io, 0, sizeof(e->io));
    }
    events.perf_submit(ctx, e, FD_EVENT_NOPATH);
    return 0;
}

/* ---- dup family ---- */

static __always_inline int emit_dup(void *ctx, long ret)
{
    struct args_t *a = take_args(K_DUP);
    if (!a)
        return 0;
    s64 oldfd = (s64)(s32)a->a0;
    a->kind = 0;
    if (ret < 0)
        return 0;
    flush_fd(ctx, bpf_get_current_pid_tgid() >> 32, (s32)ret);
    int zero = 0;
    struct fd_event_t *e = fd_scratch.lookup(&zero);
    if (!e)
        return 0;
    fill_hdr(&e->h, EV_DUP);
    e->result = ret;
    e->a0 = oldfd;
    e->a1 = 0;
    e->a2 = 0;
    e->a3 = 0;
    __builtin_memset(&e->io, 0, sizeof(e->io));
    events.perf_submit(ctx, e, FD_EVENT_NOPATH);
    return 0;
}

SYSCALL_ENTER(dup) { stash_args(K_DUP, syscall_arg(ctx, 0), 0, 0); return 0; }
SYSCALL_EXIT(dup) { return emit_dup(ctx, SYSCALL_RET); }
SYSCALL_ENTER(dup2) { stash_args(K_DUP, syscall_arg(ctx, 0), 0, 0); return 0; }
SYSCALL_EXIT(dup2) { return emit_dup(ctx, SYSCALL_RET); }
SYSCALL_ENTER(dup3) { stash_args(K_DUP, syscall_arg(ctx, 0), 0, 0); return 0; }
SYSCALL_EXIT(dup3) { return emit_dup(ctx, SYSCALL_RET); }

SYSCALL_ENTER(fcntl)
{
    /* F_DUPFD = 0, F_DUPFD_CLOEXEC = 1030 */
    if (syscall_arg(ctx, 1) == 0 || syscall_arg(ctx, 1) == 1030)
        stash_args(K_DUP, syscall_arg(ctx, 0), 0, 0);
    return 0;
}
SYSCALL_EXIT(fcntl) { return emit_dup(ctx, SYSCALL_RET); }

/* ---- pipe ---- */

static __always_inline int emit_pipe(void *ctx, long ret)
{
    struct args_t *a = take_args(K_PIPE);
    if (!a)
        return 0;
    int fds[2] = {-1, -1};
    read_user(fds, sizeof(fds), (void *)a->a0);
    a->kind = 0;
    if (ret != 0)
        return 0;
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    flush_fd(ctx, pid, fds[0]);
    flush_fd(ctx, pid, fds[1]);
    int zero = 0;
    struct fd_event_t *e = fd_scratch.lookup(&zero);
    if (!e)
        return 0;
    fill_hdr(&e->h, EV_PIPE);
    e->result = 0;
    e->a0 = fds[0];
    e->a1 = fds[1];
    e->a2 = 0;
    e->a3 = 0;
    __builtin_memset(&e->io, 0, sizeof(e->io));
    events.perf_submit(ctx, e, FD_EVENT_NOPATH);
    return 0;
}

SYSCALL_ENTER(pipe) { stash_args(K_PIPE, syscall_arg(ctx, 0), 0, 0); return 0; }
SYSCALL_EXIT(pipe) { return emit_pipe(ctx, SYSCALL_RET); }
SYSCALL_ENTER(pipe2) { stash_args(K_PIPE, syscall_arg(ctx, 0), 0, 0); return 0; }
SYSCALL_EXIT(pipe2) { return emit_pipe(ctx, SYSCALL_RET); }
