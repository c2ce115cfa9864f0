"""Writing a capture: the file created safely, batches streamed into frames,
and ``RecordingSource``, which records another source as it runs.

See format.py for the layout.
"""

from __future__ import annotations

import os
import platform
import socket
import stat
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

from ctop_ebpf.model import events as ev

from .format import (
    CRC,
    ENCODERS,
    FILE_MODE,
    FORMAT_VERSION,
    FRAME,
    FRAME_SPLIT,
    MAGIC,
    MAX_FRAME,
    PREFIX,
    SCHEMA,
    CaptureError,
    CaptureWriteError,
    dumps,
    shown,
)


def create_exclusive(path: str, force: bool = False) -> int:
    """Create ``path`` for writing with mode 0600; refuse to replace unless ``force``.

    ``force`` replaces a regular file (or a symbolic link, not what it points to);
    anything else in the way (a directory, a device, a FIFO) is refused.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for attempt in (0, 1):
        try:
            fd = os.open(path, flags, FILE_MODE)
        except FileExistsError:
            if not force or attempt:
                raise CaptureError(
                    f"{shown(path)} already exists: pass --force to overwrite it") from None
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise CaptureError(f"cannot replace {shown(path)}: {exc.strerror}") from None
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                what = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
                raise CaptureError(f"{shown(path)} is {what}: not replacing it") from None
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise CaptureError(f"cannot replace {shown(path)}: {exc.strerror}") from None
            continue
        except OSError as exc:
            raise CaptureError(
                f"cannot create capture file {shown(path)}: {exc.strerror or exc}") from None
        try:
            os.fchmod(fd, FILE_MODE)  # whatever the umask
        except OSError:
            pass
        return fd
    raise CaptureError(f"cannot create capture file {shown(path)}")  # pragma: no cover


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class CaptureWriter:
    """Streams batches of events into a capture file (see the module docstring).

    ``write_batch`` is the ``on_batch`` hook of run_pipeline; every Tick ends a
    frame that goes to the kernel at once, so memory stays flat and a crash
    loses at most the current tick. ``close`` finalises the file (idempotent).
    """

    def __init__(self, fd: int, path: str, header: dict, user_name: Callable[[int], str]) -> None:
        self.path = path
        self.header = header
        self.ticks = 0
        self.bytes_written = 0
        self._fd: int | None = fd
        self._user_name = user_name
        self._uids: set[int] = set()
        self._zip = zlib.compressobj(6, zlib.DEFLATED, 15, 9)
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._failed = False
        self._write_header()

    @classmethod
    def create(cls, path: str, *, tool_version: str, user_name: Callable[[int], str],
               force: bool = False, interval_s: float = 0.0,
               host: str | None = None, kernel: str | None = None,
               start_wall: float | None = None, extra: dict | None = None) -> "CaptureWriter":
        """Create ``path`` (mode 0600, O_EXCL) and write the header; CaptureError if it cannot.

        ``user_name(uid)`` names the users of the recorded processes (the
        recording host's passwd: the live run passes probes.procfs.user_name)."""
        fd = create_exclusive(path, force)
        uname = os.uname()
        header = {
            "magic": "ctop-ebpf capture",
            "format": FORMAT_VERSION,
            "tool": "ctop-ebpf",
            "tool_version": str(tool_version),
            "host": host if host is not None else socket.gethostname(),
            "kernel": kernel if kernel is not None else uname.release,
            "arch": platform.machine() or uname.machine,
            "start_wall": time.time() if start_wall is None else float(start_wall),
            "interval_s": float(interval_s),
            "compression": "zlib",
            "extra": dict(extra or {}),
            "schema": {name: list(names) for name, names in SCHEMA.items()},
        }
        try:
            return cls(fd, path, header, user_name)
        except BaseException:
            os.close(fd)
            try:
                os.unlink(path)
            except OSError:
                pass
            raise

    @property
    def closed(self) -> bool:
        return self._fd is None

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise CaptureWriteError(f"capture {shown(self.path)} is closed")
        try:
            _write_all(self._fd, data)
        except OSError as exc:
            self._failed = True
            raise CaptureWriteError(
                f"writing the capture {shown(self.path)} failed: {exc.strerror or exc}; "
                f"it holds the {self.ticks} ticks recorded before") from None
        self.bytes_written += len(data)

    def _write_header(self) -> None:
        body = dumps(self.header).encode("ascii")
        self._write(PREFIX.pack(MAGIC, FORMAT_VERSION, len(body)) + body
                    + CRC.pack(zlib.crc32(body)))

    def _add(self, line: str) -> None:
        self._add_lines([line])

    def _add_lines(self, lines: list[str]) -> None:
        lines.append("")
        out = self._zip.compress("\n".join(lines).encode("ascii"))
        if out:
            self._pending.append(out)
            self._pending_len += len(out)
            if self._pending_len >= FRAME_SPLIT:
                self._frame(zlib.Z_NO_FLUSH)

    def _frame(self, mode: int) -> None:
        if mode != zlib.Z_NO_FLUSH:
            tail = self._zip.flush(mode)
            if tail:
                self._pending.append(tail)
        payload = b"".join(self._pending)
        self._pending, self._pending_len = [], 0
        while payload:
            part, payload = payload[:MAX_FRAME], payload[MAX_FRAME:]
            self._write(FRAME.pack(len(part), zlib.crc32(part)) + part)

    def _users(self, uids: Iterable[int]) -> None:
        new = sorted({u for u in uids if u >= 0 and u not in self._uids})
        if not new:
            return
        pairs = []
        for uid in new:
            try:
                name = str(self._user_name(uid))
            except Exception:  # noqa: BLE001  a lookup failure records the number
                name = str(uid)
            pairs.append([uid, name])
            self._uids.add(uid)
        self._add(dumps(["Users", pairs]))

    def write_batch(self, batch: Sequence[object]) -> None:
        """Record one batch; a Tick in it ends a frame written to the file at once."""
        if self._fd is None:
            raise CaptureWriteError(f"capture {shown(self.path)} is closed")
        uids = [e.uid for e in batch if type(e) is ev.ProcSnapshot or type(e) is ev.Exec]
        if uids:
            self._users(uids)
        lines: list[str] = []
        for e in batch:
            try:
                name, enc = ENCODERS[type(e)]
            except KeyError:
                self._failed = True
                raise CaptureWriteError(
                    f"cannot record a {shown(type(e).__name__)} in {shown(self.path)}: not an "
                    f"event of model.events.Event") from None
            lines.append(dumps([name, *enc(e)]))
            if name == "Tick":
                self._add_lines(lines)
                lines = []
                self.ticks += 1
                self._frame(zlib.Z_SYNC_FLUSH)
        if lines:
            self._add_lines(lines)

    def close(self) -> None:
        """Write the end record and close the file. Safe to call twice, or after a failure."""
        if self._fd is None:
            return
        try:
            if not self._failed:
                self._add(dumps(["End", {"ticks": self.ticks, "wall": time.time()}]))
                self._frame(zlib.Z_FINISH)
        finally:
            fd, self._fd = self._fd, None
            os.close(fd)

    def discard(self) -> None:
        """Close and remove the file (nothing worth keeping was recorded)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def __enter__(self) -> "CaptureWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RecordingSource:
    """An EventSource that records every batch of another one before passing it on."""

    def __init__(self, inner, writer: CaptureWriter) -> None:
        self.inner = inner
        self.writer = writer
        self._recorded = 0

    def __getattr__(self, name):  # progress, interval ... of the live source
        return getattr(self.inner, name)

    async def events(self) -> AsyncIterator[Sequence[object]]:
        try:
            async for batch in self.inner.events():
                self.writer.write_batch(batch)
                self._recorded += 1
                yield batch
        except BaseException:
            if self._recorded == 0:  # the source failed before anything was recorded
                self.writer.discard()
            raise

    async def aclose(self) -> None:
        try:
            self.writer.close()
        finally:
            await self.inner.aclose()
