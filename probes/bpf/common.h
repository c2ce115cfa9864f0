/* Shared definitions for every ctop-ebpf probe.
 *
 * Events streamed to user space all start with struct hdr_t; the decoder in
 * probes/decode.py mirrors these layouts with the struct module. Keep the two
 * in step (tests/test_decode.py compares them with the compiled structs).
 */
#include <uapi/linux/ptrace.h>

/* bpf_probe_read_user(_str) under other names. bcc's front end, on seeing a
 * call by the helper's own name, looks the helper up in /proc/kallsyms to
 * choose a fallback for old kernels, and loading ~120,000 kernel symbols
 * was half of the compile time (1.2-1.5 s -> 0.7 s here). This kernel has
 * both helpers (the tool needs 5.11+ for task storage anyway). */
static long (*read_user)(void *dst, u32 size, const void *unsafe_ptr) =
    (void *)BPF_FUNC_probe_read_user;
static long (*read_user_str)(void *dst, u32 size, const void *unsafe_ptr) =
    (void *)BPF_FUNC_probe_read_user_str;

#define EV_FORK   1
#define EV_EXEC   2
#define EV_EXIT   3
#define EV_OPEN   4
#define EV_CLOSE  5
#define EV_DUP    6
#define EV_PIPE   7
#define EV_SOCKET 8
#define EV_SOCK   9   /* connect / accept / bind / listen */

#define PATH_LEN 256
#define UNIX_PATH_LEN 108
#ifndef MAX_ARGS
#define MAX_ARGS 16
#endif
#ifndef ARG_LEN
#define ARG_LEN 128
#endif

struct hdr_t {
    u32 type;
    u32 pid;        /* tgid */
    u32 tid;
    u32 uid;
    u64 ts;         /* bpf_ktime_get_ns */
    u64 cgroup_id;  /* cgroup v2 id of the task */
    char comm[16];
};

BPF_PERF_OUTPUT(events);

/* Tick generation, bumped by user space at each tick. Every map that user
 * space drains is keyed by its parity: user space flips it, waits a moment
 * for programs in flight (and for busy threads handing over their cached
 * counts of the old tick, up to LATE_FLUSH_NS after the flip), then drains
 * only the old parity, which no program touches any more, so no update
 * races a delete. */
BPF_ARRAY(tick_gen, u32, 1);
/* When user space flipped the generation (bpf_ktime_get_ns clock): it
 * drains the old parity FLIP_GRACE_S (25 ms) later. */
BPF_ARRAY(tick_flip_ns, u64, 1);
#define LATE_FLUSH_NS 20000000ULL  /* until then a thread's counts of the old tick still make it */

static __always_inline u32 cur_gen(void)
{
    int zero = 0;
    u32 *g = tick_gen.lookup(&zero);
    return g ? *g : 0;
}

static __always_inline u32 cur_par(void)
{
    return cur_gen() & 1;
}

/* Drops that did not go through the perf buffer: a kernel map was full. */
BPF_PERCPU_ARRAY(overflows, u64, 1);

static __always_inline void count_overflow(void)
{
    int zero = 0;
    u64 *v = overflows.lookup(&zero);
    if (v)
        (*v)++;
}

static __always_inline void fill_hdr(struct hdr_t *h, u32 type)
{
    u64 id = bpf_get_current_pid_tgid();
    h->type = type;
    h->pid = id >> 32;
    h->tid = (u32)id;
    h->uid = (u32)bpf_get_current_uid_gid();
    h->ts = bpf_ktime_get_ns();
    h->cgroup_id = bpf_get_current_cgroup_id();
    bpf_get_current_comm(&h->comm, sizeof(h->comm));
}

/* Kernel side of a filter (views/pushdown.py): when watch_mode is 1 only
 * tasks in the cgroups of watch_cgroups are accounted, when 2 only the
 * processes of watch_pids. Process lifecycle events always pass. */
BPF_ARRAY(watch_mode, u32, 1);
BPF_HASH(watch_cgroups, u64, u8, 4096);
BPF_HASH(watch_pids, u32, u8, 4096);

static __always_inline int watched(void)
{
    int zero = 0;
    u32 *mode = watch_mode.lookup(&zero);
    if (!mode || !*mode)
        return 1;
    if (*mode == 1) {
        u64 cg = bpf_get_current_cgroup_id();
        return watch_cgroups.lookup(&cg) != 0;
    }
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    return watch_pids.lookup(&pid) != 0;
}

#ifndef SELF_TGID
#define SELF_TGID 0
#endif

/* ctop-ebpf's own fd activity (its /proc reads) is not traced: it would
 * flood the files view with the tool itself. Its syscalls are counted. */
static __always_inline int is_self(void)
{
    return (bpf_get_current_pid_tgid() >> 32) == SELF_TGID;
}

/* Arguments of the syscall in flight that an exit handler needs. */
struct args_t {
    u64 a0;
    u64 a1;
    u64 a2;
    u32 kind;       /* K_* of the enter handler that filled it, 0 if none */
    u16 lport;      /* filled by inet_sock_set_state during connect()/listen() */
    u16 lfamily;
    u8 laddr[16];
};

/* Counts of completed calls of one syscall number, cached per thread. */
#define RUN_SLOTS 32
struct run_t {
    u32 nr;
    u32 pad;
    u64 calls;
    u64 errors;
    u64 total_ns;
};

/* Per-thread state in task-local storage (no hash on the hot path): the
 * syscall in flight, its arguments, and a small cache of per-syscall counts
 * (slot by Fibonacci hash of the syscall number) that is added to sc_stats only when a slot is
 * taken by another syscall, when user space starts a new tick (tick_gen),
 * or when the thread exits. */
struct task_sc_t {
    u64 ts;         /* enter time of the syscall in flight, 0 if none */
    u32 nr;
    s32 fd0;
    s32 fd1;
    u32 gen;        /* tick generation of the cached counts */
    struct args_t args;
    struct run_t runs[RUN_SLOTS];
};
BPF_TASK_STORAGE(task_sc, struct task_sc_t);

static __always_inline struct task_sc_t *current_sc(void)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
    return task_sc.task_storage_get(task, 0, 0);
}

/* Syscall-specific handlers are tail-called from the raw sys_enter/sys_exit
 * programs (probes/loader.py fills the arrays by syscall name), so no
 * per-syscall tracepoint is enabled: those cost every syscall ~95 ns. */
#define SYSCALL_ENTER(name) int enter_##name(struct bpf_raw_tracepoint_args *ctx)
#define SYSCALL_EXIT(name) int exit_##name(struct bpf_raw_tracepoint_args *ctx)
#define SYSCALL_RET ((long)ctx->args[1])

static __always_inline u64 syscall_arg(struct bpf_raw_tracepoint_args *ctx, int i)
{
    struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
    u64 v = 0;
    if (i == 0)
        bpf_probe_read_kernel(&v, sizeof(v), &PT_REGS_PARM1(regs));
    else if (i == 1)
        bpf_probe_read_kernel(&v, sizeof(v), &PT_REGS_PARM2(regs));
    else if (i == 2)
        bpf_probe_read_kernel(&v, sizeof(v), &PT_REGS_PARM3(regs));
    return v;
}

/* The first three arguments in one read where pt_regs keeps them side by
 * side (x86_64: dx, si, di), else one read each. */
struct args3_t {
    u64 a0;
    u64 a1;
    u64 a2;
};

static __always_inline struct args3_t syscall_args3(struct bpf_raw_tracepoint_args *ctx)
{
    struct args3_t r = {};
#if defined(bpf_target_x86)
    struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
    u64 v[3] = {};
    bpf_probe_read_kernel(v, sizeof(v), &regs->dx);
    r.a0 = v[2];
    r.a1 = v[1];
    r.a2 = v[0];
#else
    r.a0 = syscall_arg(ctx, 0);
    r.a1 = syscall_arg(ctx, 1);
    r.a2 = syscall_arg(ctx, 2);
#endif
    return r;
}

static __always_inline void set_args(struct task_sc_t *t, u32 kind, u64 a0, u64 a1, u64 a2)
{
    t->args.a0 = a0;
    t->args.a1 = a1;
    t->args.a2 = a2;
    t->args.kind = kind;
    t->args.lport = 0;
    t->args.lfamily = 0;
}

static __always_inline void stash_args(u32 kind, u64 a0, u64 a1, u64 a2)
{
    struct task_sc_t *t = current_sc();
    if (t)
        set_args(t, kind, a0, a1, a2);
}

static __always_inline struct args_t *take_args(u32 kind)
{
    struct task_sc_t *t = current_sc();
    if (!t || t->args.kind != kind)
        return 0;
    return &t->args;
}

/* Per (process, fd) I/O, summed in the kernel and drained once per tick;
 * close() moves an fd's pending counts into its Close event. */
struct fd_key_t {
    u32 pid;
    s32 fd;
    u32 par;    /* tick parity, see cur_par() */
    u32 pad;
};
struct fdio_t {
    u64 bytes_read;
    u64 bytes_written;
    u64 reads;
    u64 writes;
};
BPF_HASH(fdio, struct fd_key_t, struct fdio_t, 65536);  /* as many as fdstate (files.c) */
