/* Syscall accounting: per (process, thread, syscall) calls, errors and
 * latency; per (process, syscall, errno) failures; per (process, fd) bytes.
 * Everything is summed in kernel maps, nothing is streamed. */

struct sc_key_t {
    u32 pid;
    u32 tid;
    u32 nr;
    u32 par;
};
struct sc_val_t {
    u64 calls;
    u64 errors;
    u64 total_ns;
};
BPF_HASH(sc_stats, struct sc_key_t, struct sc_val_t, 32768);

BPF_PROG_ARRAY(enter_progs, 1024);
BPF_PROG_ARRAY(exit_progs, 1024);

static __always_inline void flush_slot(struct run_t *r, u64 id, u32 par)
{
    if (!r->calls)
        return;
    struct sc_key_t k = {.pid = id >> 32, .tid = (u32)id, .nr = r->nr, .par = par};
    struct sc_val_t zero = {};
    struct sc_val_t *v = sc_stats.lookup_or_try_init(&k, &zero);
    if (v) {
        __sync_fetch_and_add(&v->calls, r->calls);
        __sync_fetch_and_add(&v->errors, r->errors);
        __sync_fetch_and_add(&v->total_ns, r->total_ns);
    } else {
        count_overflow();
    }
    r->calls = 0;
    r->errors = 0;
    r->total_ns = 0;
}

static __always_inline void flush_runs(struct task_sc_t *t, u64 id, u32 par)
{
#pragma unroll
    for (int i = 0; i < RUN_SLOTS; i++)
        flush_slot(&t->runs[i], id, par);
}

static __always_inline u32 run_slot(u32 nr)
{
    /* Fibonacci hashing: few collisions among the syscalls a server makes */
    return (u32)(nr * 0x9E3779B1u) >> 27;  /* 32 slots */
}

struct errno_key_t {
    u32 pid;
    u32 nr;
    s32 err;
    u32 par;
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

/* Processes that made a syscall in a tick: user space reads the /proc stat
 * of these (and of the processes that used CPU at their last read) every
 * tick, and of the others only now and then (probes/procfs/sampler.py). Written once
 * per thread per tick, when the thread first sees the new generation. */
struct active_key_t {
    u32 pid;
    u32 par;
};
BPF_HASH(active, struct active_key_t, u8, 32768);
BPF_ARRAY(active_full, u32, 1);  /* set when the map was full: read every process */

static __always_inline void new_generation(struct task_sc_t *t, u64 id, u32 g)
{
    /* The cached counts belong to the thread's last generation. A thread that
     * runs within LATE_FLUSH_NS of the flip (a busy one) hands them to the
     * old parity, which user space drains 25 ms after the flip: its counts
     * land in their own tick. Later (the thread was blocked) they go to the
     * current parity and show up a tick late: the old one may be draining. */
    u32 par = g & 1;
    if (t->gen == g - 1) {
        int zero = 0;
        u64 *flip = tick_flip_ns.lookup(&zero);
        if (flip && bpf_ktime_get_ns() - *flip < LATE_FLUSH_NS)
            par = (g - 1) & 1;
    }
    flush_runs(t, id, par);
    t->gen = g;
    struct active_key_t k = {.pid = id >> 32, .par = g & 1};
    u8 one = 1;
    if (active.update(&k, &one)) {
        int zero = 0;
        u32 *full = active_full.lookup(&zero);
        if (full)
            *full = 1;
    }
}

static __always_inline void add_io(u32 pid, s32 fd, u64 r, u64 w, u32 par)
{
    struct fd_key_t k = {.pid = pid, .fd = fd, .par = par};
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
