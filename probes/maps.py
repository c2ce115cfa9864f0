"""Reading the kernel's aggregate maps in bulk, as bytes.

At each tick the BPF thread takes one tick parity's entries out of hash maps
that can hold tens of thousands of them (per process, thread and syscall
under process churn). bcc's ``items_lookup_batch`` makes a ctypes object of
every key and value; here one batch lookup fills two byte buffers, which
``struct`` unpacks into plain tuples, and the entries of the drained parity
are deleted with one batch delete built from the same bytes.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct


class BatchDrain:
    """Drains one tick parity of a hash map whose key holds the parity at
    field ``par_at``.

    ``key`` and ``value`` are ``struct`` formats matching the C structs
    (native byte order, no padding); a size that differs from the compiled
    program's raises ValueError.
    """

    def __init__(self, table, key: str, value: str, par_at: int) -> None:
        from bcc.libbcc import lib  # noqa: PLC0415 - bcc only in the BPF thread

        self._lib = lib
        self.fd = table.map_fd
        self.key = struct.Struct(key)
        self.value = struct.Struct(value)
        if self.key.size != ctypes.sizeof(table.Key) or self.value.size != ctypes.sizeof(table.Leaf):
            raise ValueError(f"layout of {table.Key.__name__}/{table.Leaf.__name__} differs from "
                             f"{key!r}/{value!r}")
        self.par_at = par_at
        self.capacity = table.max_entries
        self._keys = ctypes.create_string_buffer(self.key.size * self.capacity)
        self._values = ctypes.create_string_buffer(self.value.size * self.capacity)

    def _lookup_all(self) -> int:
        """Fill the buffers with every entry; returns how many."""
        lib, ksz, vsz = self._lib, self.key.size, self.value.size
        out_batch = ctypes.c_uint32(0)
        count = ctypes.c_uint32(0)
        total = 0
        while True:
            count.value = self.capacity - total
            res = lib.bpf_lookup_batch(self.fd, ctypes.byref(out_batch) if total else None,
                                       ctypes.byref(out_batch), ctypes.byref(self._keys, ksz * total),
                                       ctypes.byref(self._values, vsz * total), ctypes.byref(count))
            err = ctypes.get_errno()
            total += count.value
            if res != 0:
                if err not in (errno.ENOENT, 0):
                    raise OSError(err, f"BPF_MAP_LOOKUP_BATCH: {os.strerror(err)}")
                return total  # ENOENT: the whole map was read
            if total == self.capacity or count.value == 0:
                return total

    def drain(self, par: int) -> list[tuple[tuple, tuple]]:
        """(key fields, value fields) of every entry of parity ``par``, which are
        deleted from the map."""
        total = self._lookup_all()
        if not total:
            return []
        ksz, vsz = self.key.size, self.value.size
        keys = self._keys.raw[: total * ksz]
        values = self._values.raw[: total * vsz]
        taken = []
        chosen = []
        at = self.par_at
        for i, (k, v) in enumerate(zip(self.key.iter_unpack(keys), self.value.iter_unpack(values))):
            if k[at] == par:
                taken.append((k, v))
                chosen.append(keys[i * ksz:(i + 1) * ksz])
        if chosen:
            buf = ctypes.create_string_buffer(b"".join(chosen), len(chosen) * ksz)
            count = ctypes.c_uint32(len(chosen))
            if self._lib.bpf_delete_batch(self.fd, buf, ctypes.byref(count)) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"BPF_MAP_DELETE_BATCH: {os.strerror(err)}")
        return taken
