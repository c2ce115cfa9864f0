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

static __always_inline void flush_slot(struct run_t *r, u64 id)
{
    if (!r->calls)
        return;
    struct sc_key_t k = {.pid = id >> 32, .tid = (u32)id, .nr = r->nr, .par = cur_par()};
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

static __always_inline void flush_runs(struct task_sc_t *t, u64 id)
{
#pragma unroll
    for (int i = 0; i < RUN_SLOTS; i++)
        flush_slot(&t->runs[i], id);
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
 * tick, and of the others only now and then (model/sampler.py). Written once
 * per thread per tick, when the thread first sees the new generation. */
struct active_key_t {
    u32 pid;
    u32 par;
};
BPF_HASH(active, struct active_key_t, u8, 32768);
BPF_ARRAY(active_full, u32, 1);  /* set when the map was full: read every process */

static __always_inline void new_generation(struct task_sc_t *t, u64 id, u32 g)
{
    flush_runs(t, id);
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

RAW_TRACEPOINT_PROBE(sys_enter)
{
    if (!watched())
        return 0;
    struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
    struct task_sc_t *t = task_sc.task_storage_get(task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!t) {
        count_overflow();
        return 0;
    }
    u32 nr = (u32)ctx->args[1];
    u32 g = cur_gen();
    if (t->gen != g)  /* a new tick: hand the cached counts over */
        new_generation(t, bpf_get_current_pid_tgid(), g);
    t->nr = nr;
    t->args.kind = 0;
    t->fd0 = -1;
    t->fd1 = -1;
    int dir = io_dir(nr);
    if (dir && !is_self()) {
        struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
        u64 a0 = 0, a1 = 0;
        bpf_probe_read_kernel(&a0, sizeof(a0), &PT_REGS_PARM1(regs));
        t->fd0 = (s32)a0;
        if (dir == 3) {  /* sendfile's in_fd */
            bpf_probe_read_kernel(&a1, sizeof(a1), &PT_REGS_PARM2(regs));
            t->fd1 = (s32)a1;
        }
    }
    t->ts = bpf_ktime_get_ns();
    if (!is_self())
        enter_progs.call(ctx, nr & 1023);  /* falls through when no handler */
    return 0;
}

static __always_inline void add_io(u32 pid, s32 fd, u64 r, u64 w)
{
    struct fd_key_t k = {.pid = pid, .fd = fd, .par = cur_par()};
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
    struct task_sc_t *t = current_sc();
    if (!t || !t->ts)
        return 0;
    u64 delta = bpf_ktime_get_ns() - t->ts;
    t->ts = 0;
    long ret = (long)ctx->args[1];
    u64 id = bpf_get_current_pid_tgid();
    u32 g = cur_gen();
    if (t->gen != g)  /* woke from a call entered in an earlier tick */
        new_generation(t, id, g);
    struct run_t *r = &t->runs[run_slot(t->nr)];
    if (r->nr != t->nr) {
        flush_slot(r, id);
        r->nr = t->nr;
    }
    r->calls++;
    r->total_ns += delta;
    if (ret < 0 && ret >= -4095) {
        r->errors++;
        struct errno_key_t ek = {.pid = id >> 32, .nr = t->nr, .err = (s32)-ret, .par = cur_par()};
        u64 one = 0;
        u64 *c = errno_stats.lookup_or_try_init(&ek, &one);
        if (c)
            __sync_fetch_and_add(c, 1);
        else
            count_overflow();
    } else if (ret > 0 && t->fd0 >= 0) {
        int dir = io_dir(t->nr);
        if (dir == 1)
            add_io(id >> 32, t->fd0, ret, 0);
        else if (dir == 2)
            add_io(id >> 32, t->fd0, 0, ret);
        else if (dir == 3) {
            add_io(id >> 32, t->fd0, 0, ret);  /* sendfile(out_fd, in_fd, ...) */
            add_io(id >> 32, t->fd1, ret, 0);
        }
    }
    if (t->args.kind)
        exit_progs.call(ctx, t->nr & 1023);
    return 0;
}
