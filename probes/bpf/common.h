/* Shared definitions for every ctop-ebpf probe.
 *
 * Events streamed to user space all start with struct hdr_t; the decoder in
 * probes/decode.py mirrors these layouts with the struct module. Keep the two
 * in step (tests/test_decode.py checks sizes against this file).
 */
#include <uapi/linux/ptrace.h>

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

/* Per-thread arguments of the syscall in flight, for the syscall-specific
 * enter/exit tracepoint pairs (a thread is in one syscall at a time). */
struct args_t {
    u64 a0;
    u64 a1;
    u64 a2;
    u32 kind;
    u16 lport;      /* filled by inet_sock_set_state during connect() */
    u16 lfamily;
    u8 laddr[16];
};
BPF_HASH(args_stash, u32, struct args_t, 16384);

#ifndef SELF_TGID
#define SELF_TGID 0
#endif

/* ctop-ebpf's own fd activity (its /proc reads) is not traced: it would
 * flood the files view with the tool itself. Its syscalls are counted. */
static __always_inline int is_self(void)
{
    return (bpf_get_current_pid_tgid() >> 32) == SELF_TGID;
}

static __always_inline void stash_args(u32 kind, u64 a0, u64 a1, u64 a2)
{
    if (is_self())
        return;
    u32 tid = (u32)bpf_get_current_pid_tgid();
    struct args_t a = {};
    a.a0 = a0;
    a.a1 = a1;
    a.a2 = a2;
    a.kind = kind;
    if (args_stash.update(&tid, &a) != 0)
        count_overflow();
}

/* Per (process, fd) I/O, summed in the kernel and drained once per tick;
 * close() moves an fd's pending counts into its Close event. */
struct fd_key_t {
    u32 pid;
    s32 fd;
};
struct fdio_t {
    u64 bytes_read;
    u64 bytes_written;
    u64 reads;
    u64 writes;
};
BPF_HASH(fdio, struct fd_key_t, struct fdio_t, 32768);
