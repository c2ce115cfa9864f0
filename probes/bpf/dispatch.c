/* The two programs every syscall runs: the raw sys_enter and sys_exit
 * tracepoints (enabling any syscalls:* tracepoint costs every syscall
 * ~95 ns here). They keep the per-thread state and accounting of
 * syscalls.c, handle openat and close themselves (the fd syscalls a server
 * makes on every request: a tail call costs an indirect jump, a retpoline
 * on this machine) and tail-call the other syscall-specific handlers. */

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
    int self = is_self();
    int dir = io_dir(nr);
    if (dir && !self) {
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
    if (self)
        return 0;
    if (nr == NR_openat) {
        struct args3_t r = syscall_args3(ctx);
        set_args(t, K_OPENAT, r.a1, (u64)(s64)(int)r.a0, r.a2);
    } else if (nr == NR_close) {
        set_args(t, K_CLOSE, syscall_arg(ctx, 0), 0, 0);
    } else {
        enter_progs.call(ctx, nr & 1023);  /* falls through when no handler */
    }
    return 0;
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
    u32 par = g & 1;
    struct run_t *r = &t->runs[run_slot(t->nr)];
    if (r->nr != t->nr) {
        flush_slot(r, id, par);
        r->nr = t->nr;
    }
    r->calls++;
    r->total_ns += delta;
    if (ret < 0 && ret >= -4095) {
        r->errors++;
        struct errno_key_t ek = {.pid = id >> 32, .nr = t->nr, .err = (s32)-ret, .par = par};
        u64 one = 0;
        u64 *c = errno_stats.lookup_or_try_init(&ek, &one);
        if (c)
            __sync_fetch_and_add(c, 1);
        else
            count_overflow();
    } else if (ret > 0 && t->fd0 >= 0) {
        int dir = io_dir(t->nr);
        if (dir == 1)
            add_io(id >> 32, t->fd0, ret, 0, par);
        else if (dir == 2)
            add_io(id >> 32, t->fd0, 0, ret, par);
        else if (dir == 3) {
            add_io(id >> 32, t->fd0, 0, ret, par);  /* sendfile(out_fd, in_fd, ...) */
            add_io(id >> 32, t->fd1, ret, 0, par);
        }
    }
    u32 kind = t->args.kind;
    if (kind == K_OPENAT)
        return emit_open(ctx, &t->args, K_OPENAT, ret);
    if (kind == K_CLOSE)
        return close_exit(ctx, &t->args, ret);
    if (kind)
        exit_progs.call(ctx, t->nr & 1023);
    return 0;
}
