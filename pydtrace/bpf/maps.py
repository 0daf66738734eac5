"""BPF maps seen from user space: create, look up, update, delete, iterate (batched when possible).

Per-CPU maps hold one value per *possible* CPU; the kernel hands user space
`ncpus_possible * roundup(value_size, 8)` bytes, which `lookup_percpu` splits.
"""

from __future__ import annotations

import ctypes
import errno
import struct
from typing import Iterator

from .sys import (
    BPF_ANY, ENOTSUPP, PERCPU_MAP_TYPES, BPFError, Cmd, FdObject, MapType, bpf, obj_name,
)

__all__ = ["Map", "possible_cpus", "online_cpus", "parse_cpu_list"]

_BATCH_UNSUPPORTED = (errno.EINVAL, errno.EOPNOTSUPP, ENOTSUPP, errno.ENOTTY)
_cpu_cache: dict[str, list[int]] = {}  # cache: the CPU lists of this boot do not change


def parse_cpu_list(text: str) -> list[int]:
    """Parse a kernel CPU list such as '0-3,5,7-8' into [0, 1, 2, 3, 5, 7, 8]."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def _cpu_file(name: str, cache: bool) -> list[int]:
    if cache and name in _cpu_cache:
        return _cpu_cache[name]
    with open(f"/sys/devices/system/cpu/{name}") as f:
        cpus = parse_cpu_list(f.read())
    if cache:
        _cpu_cache[name] = cpus
    return cpus


def possible_cpus() -> list[int]:
    """CPUs the kernel may ever bring up (sizes per-CPU map values); cached."""
    return _cpu_file("possible", cache=True)


def online_cpus() -> list[int]:
    """CPUs online now (where per-CPU perf events can be opened); read each call."""
    return _cpu_file("online", cache=False)


def _round8(n: int) -> int:
    return (n + 7) & ~7


class Map(FdObject):
    """A BPF map fd plus its geometry; closes the fd on close() or at the end of a with-block.

    Look-ups reuse per-object key/value buffers: use one Map object per thread.
    """

    def __init__(self, fd: int, map_type: int, key_size: int, value_size: int,
                 max_entries: int, name: str = "", flags: int = 0):
        self.fd = fd
        self.map_type = map_type
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries
        self.name = name
        self.flags = flags
        self.percpu = map_type in PERCPU_MAP_TYPES
        self._ncpus = len(possible_cpus()) if self.percpu else 1
        self._stride = _round8(value_size) if self.percpu else value_size
        # Size of one value as user space sees it (all CPUs for a per-CPU map).
        self.user_value_size = self._stride * self._ncpus if self.percpu else value_size
        self._batch_ok: bool | None = None  # learnt on first items(): does the kernel batch it?
        self._attr = (ctypes.c_char * 40)()  # reused for the *_ELEM commands (fields end at 32)
        self._kbuf = ctypes.create_string_buffer(max(key_size, 1))
        self._vbuf = ctypes.create_string_buffer(max(self.user_value_size, 1))

    @classmethod
    def create(cls, map_type: int, key_size: int, value_size: int, max_entries: int,
               name: str = "", flags: int = 0, map_extra: int = 0) -> "Map":
        """BPF_MAP_CREATE; `name` is cut to 15 bytes, other characters than [A-Za-z0-9_.]
        become '_' (the kernel refuses them with EINVAL)."""
        attr = bytearray(160)
        struct.pack_into("<5I", attr, 0, map_type, key_size, value_size, max_entries, flags)
        raw = obj_name(name)
        attr[28:28 + len(raw)] = raw
        if map_extra:
            struct.pack_into("<Q", attr, 64, map_extra)  # after btf_vmlinux_value_type_id
        fd = bpf(Cmd.MAP_CREATE, attr)
        return cls(fd, map_type, key_size, value_size, max_entries, name, flags)

    # -- lifetime ---------------------------------------------------------------

    def __repr__(self) -> str:
        try:
            kind = MapType(self.map_type).name
        except ValueError:
            kind = str(self.map_type)
        return (f"Map({kind}, fd={self.fd}, key={self.key_size}, value={self.value_size}, "
                f"max={self.max_entries}, name={self.name!r})")

    # -- single elements ----------------------------------------------------------

    def _elem(self, cmd: int, key: bytes | None, value_ptr: int, flags: int = 0) -> int:
        if key is not None and len(key) != self.key_size:
            raise ValueError(f"key of {len(key)} bytes for a map with {self.key_size}-byte keys")
        attr = self._attr
        ctypes.memset(attr, 0, 40)
        if key is not None:
            ctypes.memmove(self._kbuf, key, self.key_size)
            kptr = ctypes.addressof(self._kbuf)
        else:
            kptr = 0
        struct.pack_into("<IxxxxQQQ", attr, 0, self.fd, kptr, value_ptr, flags)
        return bpf(cmd, attr, 40)

    def lookup(self, key: bytes) -> bytes | None:
        """The value for `key`, or None. A per-CPU map gives every CPU's value concatenated."""
        try:
            self._elem(Cmd.MAP_LOOKUP_ELEM, key, ctypes.addressof(self._vbuf))
        except BPFError as e:
            if e.errno == errno.ENOENT:
                return None
            raise
        return self._vbuf.raw[:self.user_value_size]

    def update(self, key: bytes, value: bytes, flags: int = BPF_ANY) -> None:
        """Set `key` to `value` (BPF_ANY, BPF_NOEXIST or BPF_EXIST)."""
        if len(value) != self.user_value_size:
            raise ValueError(f"value of {len(value)} bytes for a map with "
                             f"{self.user_value_size}-byte values (as user space sees them)")
        vbuf = ctypes.create_string_buffer(value, len(value))
        self._elem(Cmd.MAP_UPDATE_ELEM, key, ctypes.addressof(vbuf), flags)

    def delete(self, key: bytes) -> bool:
        """Delete `key`; False if it was not there. Arrays cannot delete (EINVAL is raised)."""
        try:
            self._elem(Cmd.MAP_DELETE_ELEM, key, 0)
        except BPFError as e:
            if e.errno == errno.ENOENT:
                return False
            raise
        return True

    def freeze(self) -> None:
        """BPF_MAP_FREEZE: make the map read-only for user space (for read-only data maps)."""
        attr = bytearray(8)
        struct.pack_into("<I", attr, 0, self.fd)
        bpf(Cmd.MAP_FREEZE, attr, 8)

    # -- per-CPU values -------------------------------------------------------------

    def split_percpu(self, blob: bytes) -> list[bytes]:
        """Split a per-CPU blob into one `value_size` slice per possible CPU."""
        s, vs = self._stride, self.value_size
        return [blob[i * s:i * s + vs] for i in range(self._ncpus)]

    def lookup_percpu(self, key: bytes) -> list[bytes] | None:
        """One value per possible CPU (index = CPU number), or None if `key` is absent."""
        blob = self.lookup(key)
        return None if blob is None else self.split_percpu(blob)

    def update_percpu(self, key: bytes, values: list[bytes], flags: int = BPF_ANY) -> None:
        """Set each possible CPU's value; `values` has one entry per possible CPU."""
        if len(values) != self._ncpus:
            raise ValueError(f"{len(values)} values for {self._ncpus} possible CPUs")
        pad = self._stride
        self.update(key, b"".join(v.ljust(pad, b"\0") for v in values), flags)

    # -- iteration ------------------------------------------------------------------

    def keys(self) -> Iterator[bytes]:
        """All keys, by BPF_MAP_GET_NEXT_KEY (a deleted current key restarts from the top)."""
        nbuf = ctypes.create_string_buffer(max(self.key_size, 1))
        key: bytes | None = None
        while True:
            try:
                self._elem(Cmd.MAP_GET_NEXT_KEY, key, ctypes.addressof(nbuf))
            except BPFError as e:
                if e.errno == errno.ENOENT:
                    return
                raise
            key = nbuf.raw[:self.key_size]
            yield key

    def items(self) -> list[tuple[bytes, bytes]]:
        """All (key, value) pairs; per-CPU values are the raw blobs (see items_percpu)."""
        if self._batch_ok is not False:
            try:
                result = self._items_batch()
                self._batch_ok = True
                return result
            except BPFError as e:
                # Stack-trace, ring-buffer and other maps answer EINVAL/ENOTSUPP to batching.
                if self._batch_ok or e.errno not in _BATCH_UNSUPPORTED:
                    raise
                self._batch_ok = False
        return self._items_slow()

    def items_percpu(self) -> list[tuple[bytes, list[bytes]]]:
        """All (key, [value per possible CPU]) pairs of a per-CPU map."""
        return [(k, self.split_percpu(v)) for k, v in self.items()]

    def _items_slow(self) -> list[tuple[bytes, bytes]]:
        out = []
        for key in self.keys():
            value = self.lookup(key)
            if value is not None:  # deleted between GET_NEXT_KEY and LOOKUP
                out.append((key, value))
        return out

    def _items_batch(self) -> list[tuple[bytes, bytes]]:
        """BPF_MAP_LOOKUP_BATCH until ENOENT (count is still valid with ENOENT)."""
        ks, vs = self.key_size, self.user_value_size
        chunk = max(1, min(self.max_entries, 4096))
        out: list[tuple[bytes, bytes]] = []
        # The batch cursor is opaque: a u32 bucket for hashes, a key for arrays.
        in_batch = ctypes.create_string_buffer(max(ks, 8))
        out_batch = ctypes.create_string_buffer(max(ks, 8))
        first = True
        while True:
            keys = ctypes.create_string_buffer(ks * chunk)
            values = ctypes.create_string_buffer(vs * chunk)
            attr = bytearray(64)
            struct.pack_into("<QQQQII", attr, 0,
                             0 if first else ctypes.addressof(in_batch),
                             ctypes.addressof(out_batch), ctypes.addressof(keys),
                             ctypes.addressof(values), chunk, self.fd)
            done = False
            try:
                bpf(Cmd.MAP_LOOKUP_BATCH, attr, 64)
            except BPFError as e:
                if e.errno == errno.ENOSPC and chunk < (1 << 20):
                    # A hash bucket holds more elements than `chunk`: grow and retry it.
                    chunk *= 4
                    continue
                if e.errno != errno.ENOENT:
                    raise
                done = True
            count = struct.unpack_from("<I", attr, 32)[0]
            kraw, vraw = keys.raw, values.raw
            out.extend((kraw[i * ks:(i + 1) * ks], vraw[i * vs:(i + 1) * vs])
                       for i in range(count))
            if done:
                return out
            ctypes.memmove(in_batch, out_batch, len(out_batch))
            first = False

    def info(self) -> dict:
        """bpf_map_info: id, type, key_size, value_size, max_entries, map_flags, name."""
        info = ctypes.create_string_buffer(88)
        attr = bytearray(16)
        struct.pack_into("<IIQ", attr, 0, self.fd, len(info), ctypes.addressof(info))
        bpf(Cmd.OBJ_GET_INFO_BY_FD, attr, 16)
        typ, mid, ksz, vsz, maxe, mflags = struct.unpack_from("<6I", info, 0)
        name = info.raw[24:40].split(b"\0", 1)[0].decode(errors="replace")
        return {"id": mid, "type": typ, "key_size": ksz, "value_size": vsz,
                "max_entries": maxe, "map_flags": mflags, "name": name}

