/* Syscall accounting: per (process, thread, syscall) calls, errors and
 * latency; per (process, syscall, errno) failures; per (process, fd) bytes.
 * Everything is summed in kernel maps, nothing is streamed. */

struct inflight_t {
    u64 ts;
    u32 nr;
    s32 fd0;
    s32 fd1;
    u32 pad;
};
BPF_HASH(inflight, u32, struct inflight_t, 65536);

struct sc_key_t {
    u32 pid;
    u32 tid;
    u32 nr;
    u32 pad;
};
struct sc_val_t {
    u64 calls;
    u64 errors;
    u64 total_ns;
};
BPF_HASH(sc_stats, struct sc_key_t, struct sc_val_t, 32768);

struct errno_key_t {
    u32 pid;
    u32 nr;
    s32 err;
    u32 pad;
};
BPF_HASH(errno_stats, struct errno_key_t, u64, 8192);

/* Syscall numbers come from the loader (-D) for the running architecture. */
static __always_inline int io_dir(u32 nr)
{
    /* 1 = read side, 2 = write side, 3 = sendfile (both), 0 = not I/O */
    if (nr == NR_read || nr == NR_readv || nr == NR_pread64 || nr == NR_preadv ||
        nr == NR_preadv2 || nr == NR_recvfrom || nr == NR_recvmsg)
        return 1;
    if (nr == NR_write || nr == NR_writev || nr == NR_pwrite64 || nr == NR_pwritev ||
        nr == NR_pwritev2 || nr == NR_sendto || nr == NR_sendmsg)
        return 2;
    if (nr == NR_sendfile)
        return 3;
    return 0;
}

RAW_TRACEPOINT_PROBE(sys_enter)
{
    u32 tid = (u32)bpf_get_current_pid_tgid();
    struct inflight_t in = {};
    in.ts = bpf_ktime_get_ns();
    in.nr = (u32)ctx->args[1];
    in.fd0 = -1;
    in.fd1 = -1;
    if (io_dir(in.nr) && !is_self()) {
        struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
        u64 a0 = 0, a1 = 0;
        bpf_probe_read_kernel(&a0, sizeof(a0), &PT_REGS_PARM1(regs));
        bpf_probe_read_kernel(&a1, sizeof(a1), &PT_REGS_PARM2(regs));
        in.fd0 = (s32)a0;
        in.fd1 = (s32)a1;
    }
    if (inflight.update(&tid, &in) != 0)
        count_overflow();
    return 0;
}

static __always_inline void add_io(u32 pid, s32 fd, u64 r, u64 w)
{
    struct fd_key_t k = {.pid = pid, .fd = fd};
    struct fdio_t zero = {};
    struct fdio_t *v = fdio.lookup_or_try_init(&k, &zero);
    if (!v) {
        count_overflow();
        return;
    }
    if (r) {
        __sync_fetch_and_add(&v->bytes_read, r);
        __sync_fetch_and_add(&v->reads, 1);
    }
    if (w) {
        __sync_fetch_and_add(&v->bytes_written, w);
        __sync_fetch_and_add(&v->writes, 1);
    }
}

RAW_TRACEPOINT_PROBE(sys_exit)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 tid = (u32)id;
    struct inflight_t *in = inflight.lookup(&tid);
    if (!in)
        return 0;
    long ret = (long)ctx->args[1];
    u64 delta = bpf_ktime_get_ns() - in->ts;
    struct sc_key_t k = {.pid = id >> 32, .tid = tid, .nr = in->nr};
    struct sc_val_t zero = {};
    struct sc_val_t *v = sc_stats.lookup_or_try_init(&k, &zero);
    if (v) {
        __sync_fetch_and_add(&v->calls, 1);
        __sync_fetch_and_add(&v->total_ns, delta);
        if (ret < 0 && ret >= -4095)
            __sync_fetch_and_add(&v->errors, 1);
    } else {
        count_overflow();
    }
    if (ret < 0 && ret >= -4095) {
        struct errno_key_t ek = {.pid = id >> 32, .nr = in->nr, .err = (s32)-ret};
        u64 one = 0;
        u64 *c = errno_stats.lookup_or_try_init(&ek, &one);
        if (c)
            __sync_fetch_and_add(c, 1);
        else
            count_overflow();
    } else if (ret > 0 && in->fd0 >= 0) {
        int dir = io_dir(in->nr);
        if (dir == 1)
            add_io(id >> 32, in->fd0, ret, 0);
        else if (dir == 2)
            add_io(id >> 32, in->fd0, 0, ret);
        else if (dir == 3) {
            add_io(id >> 32, in->fd0, 0, ret);  /* sendfile(out_fd, in_fd, ...) */
            add_io(id >> 32, in->fd1, ret, 0);
        }
    }
    inflight.delete(&tid);
    return 0;
}
