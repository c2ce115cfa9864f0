/* Process lifecycle: fork/clone (task_newtask), exec with argv, exit. */

#define CLONE_THREAD_FLAG 0x00010000

struct fork_event_t {
    struct hdr_t h;
    u32 child_tid;
    u32 is_thread;
    u64 clone_flags;
};

struct exec_event_t {
    struct hdr_t h;
    u32 old_tid;
    u32 argc;
    u32 truncated;
    u32 pad;
    char filename[PATH_LEN];
    char args[MAX_ARGS][ARG_LEN];
};

struct exit_event_t {
    struct hdr_t h;
    s32 code;
    u32 pad;
};

BPF_PERCPU_ARRAY(exec_scratch, struct exec_event_t, 1);
BPF_HASH(exec_stash, u32, struct exec_event_t, 1024);
BPF_HASH(exit_codes, u32, s32, 16384);

TRACEPOINT_PROBE(task, task_newtask)
{
    struct fork_event_t e = {};
    fill_hdr(&e.h, EV_FORK);
    e.child_tid = args->pid;
    e.clone_flags = args->clone_flags;
    e.is_thread = (args->clone_flags & CLONE_THREAD_FLAG) ? 1 : 0;
    events.perf_submit(args, &e, sizeof(e));
    return 0;
}

static __always_inline int stash_argv(const char *const *argv)
{
    int zero = 0;
    struct exec_event_t *e = exec_scratch.lookup(&zero);
    if (!e)
        return 0;
    e->argc = 0;
    e->truncated = 0;
#pragma unroll
    for (int i = 0; i < MAX_ARGS; i++) {
        const char *argp = NULL;
        read_user(&argp, sizeof(argp), &argv[i]);
        if (!argp)
            goto done;
        read_user_str(e->args[i], ARG_LEN, argp);
        e->argc = i + 1;
    }
    {
        const char *more = NULL;
        read_user(&more, sizeof(more), &argv[MAX_ARGS]);
        if (more)
            e->truncated = 1;
    }
done:;
    u32 tid = (u32)bpf_get_current_pid_tgid();
    if (exec_stash.update(&tid, e) != 0)
        count_overflow();
    return 0;
}

SYSCALL_ENTER(execve)
{
    return stash_argv((const char *const *)syscall_arg(ctx, 1));
}

SYSCALL_ENTER(execveat)
{
    return stash_argv((const char *const *)syscall_arg(ctx, 2));
}

TRACEPOINT_PROBE(sched, sched_process_exec)
{
    u32 old = args->old_pid;
    struct exec_event_t *e = exec_stash.lookup(&old);
    if (!e) {
        int zero = 0;
        e = exec_scratch.lookup(&zero);
        if (!e)
            return 0;
        e->argc = 0;
        e->truncated = 0;
    }
    fill_hdr(&e->h, EV_EXEC);
    e->old_tid = old;
    TP_DATA_LOC_READ_STR(e->filename, filename, PATH_LEN);
    /* only the argv slots in use: an exec storm then fits the buffers */
    u32 n = e->argc;
    if (n > MAX_ARGS)
        n = MAX_ARGS;
    events.perf_submit(args, e, sizeof(*e) - (MAX_ARGS - n) * ARG_LEN);
    exec_stash.delete(&old);
    return 0;
}

SYSCALL_ENTER(exit_group)
{
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    s32 code = (s32)syscall_arg(ctx, 0);
    exit_codes.update(&pid, &code);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exit)
{
    struct exit_event_t e = {};
    fill_hdr(&e.h, EV_EXIT);
    u32 tid = e.h.tid;
    /* the thread's last run of syscalls, before its task storage goes */
    struct task_sc_t *t = current_sc();
    if (t)
        flush_runs(t, bpf_get_current_pid_tgid(), cur_par());
    exec_stash.delete(&tid);
    e.code = -1;
    if (e.h.tid == e.h.pid) {
        s32 *code = exit_codes.lookup(&e.h.pid);
        if (code) {
            e.code = *code;
            exit_codes.delete(&e.h.pid);
        }
    }
    events.perf_submit(args, &e, sizeof(e));
    return 0;
}
