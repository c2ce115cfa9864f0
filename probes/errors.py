"""Typed failures of the kernel side, each with the fix in its message."""

from ctop_ebpf.exit_codes import EXIT_UNSUPPORTED


class ProbeError(Exception):
    """The probes cannot run here. ``str(err)`` is a paragraph for a person."""

    exit_code = EXIT_UNSUPPORTED


class PrivilegeError(ProbeError):
    pass


class KernelHeadersError(ProbeError):
    pass


class TracefsError(ProbeError):
    pass


class BccMissingError(ProbeError):
    pass


class CompileError(ProbeError):
    pass
