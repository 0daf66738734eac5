"""Load BPF programs (keeping the verifier log), run them with PROG_TEST_RUN, and attach them.

Attach helpers return a `Link`; closing it detaches. A verifier rejection raises
`VerifierError` with the whole log, because a rejected program is a compiler bug to report.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import struct
from typing import Sequence

from .sys import (
    BPF_F_TEST_RUN_ON_CPU, BPF_F_UPROBE_MULTI_RETURN, BPF_STATS_RUN_TIME,
    AttachType, BPFError, Cmd, FdObject, bpf, errno_name, obj_name,
)

__all__ = [
    "Program", "Link", "VerifierError", "load_program", "attach_raw_tracepoint",
    "attach_perf_event", "attach_uprobe_multi", "enable_stats", "prog_info",
    "list_loaded_programs", "PERF_EVENT_IOC_ENABLE", "PERF_EVENT_IOC_DISABLE",
    "PERF_EVENT_IOC_SET_BPF",
]

PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_DISABLE = 0x2401
PERF_EVENT_IOC_SET_BPF = 0x40042408

LOG_START_SIZE = 256 * 1024
LOG_MAX_SIZE = (1 << 30) - 1  # kernel limit: log_size <= UINT_MAX >> 2
PROG_INFO_SIZE = 232  # struct bpf_prog_info up to attach_btf_id (offset 224), 8-aligned


class VerifierError(BPFError):
    """PROG_LOAD failed. `log` is the full verifier log ('' when the kernel refused before it)."""

    def __init__(self, err: int, message: str, log: str, name: str = "", insn_cnt: int = 0):
        super().__init__(err, message)
        self.log = log
        self.prog_name = name
        self.insn_cnt = insn_cnt

    def summary(self) -> str:
        """The verifier's own complaint: the last log line that is not a statistics line."""
        return _log_summary(self.log)


def _log_summary(log: str) -> str:
    for line in reversed(log.splitlines()):
        line = line.strip()
        if line and not line.startswith(("processed ", "verification time", "stack depth")):
            return line
    return ""


def prog_info(fd: int) -> dict:
    """bpf_prog_info of a program fd: id, type, name, tag, run_cnt, run_time_ns and more."""
    info = ctypes.create_string_buffer(PROG_INFO_SIZE)
    attr = bytearray(16)
    struct.pack_into("<IIQ", attr, 0, fd, PROG_INFO_SIZE, ctypes.addressof(info))
    bpf(Cmd.OBJ_GET_INFO_BY_FD, attr, 16)
    raw = info.raw
    typ, pid = struct.unpack_from("<II", raw, 0)
    jited_len, xlated_len = struct.unpack_from("<II", raw, 16)
    load_time, uid, nr_maps = struct.unpack_from("<QII", raw, 40)
    run_time_ns, run_cnt, recursion_misses = struct.unpack_from("<QQQ", raw, 192)
    verified_insns, _, attach_btf_id = struct.unpack_from("<III", raw, 216)
    return {
        "id": pid, "type": typ, "tag": raw[8:16].hex(),
        "name": raw[64:80].split(b"\0", 1)[0].decode(errors="replace"),
        "jited_prog_len": jited_len, "xlated_prog_len": xlated_len,
        "load_time": load_time, "created_by_uid": uid, "nr_map_ids": nr_maps,
        "run_time_ns": run_time_ns, "run_cnt": run_cnt, "recursion_misses": recursion_misses,
        "verified_insns": verified_insns, "attach_btf_id": attach_btf_id,
    }


class Program(FdObject):
    """A loaded program's fd. Keep it (or a Link to it) alive while it is in use."""

    def __init__(self, fd: int, prog_type: int, name: str = "", insn_cnt: int = 0,
                 expected_attach_type: int = 0, log: str = ""):
        self.fd = fd
        self.prog_type = prog_type
        self.name = name
        self.insn_cnt = insn_cnt
        self.expected_attach_type = expected_attach_type
        self.log = log  # verifier log of a successful load when a log_level was asked for

    def __repr__(self) -> str:
        return f"Program({self.name!r}, type={self.prog_type}, fd={self.fd}, insns={self.insn_cnt})"

    def test_run(self, ctx: bytes, cpu: int | None = None) -> int:
        """BPF_PROG_TEST_RUN once with `ctx` as context; returns the program's r0.

        For RAW_TRACEPOINT programs `ctx` is the u64 argument array (1..12 entries): the kernel
        wants repeat == 0 and ctx_size_in > 0 (EINVAL otherwise). With `cpu` the run happens on
        that CPU, in interrupt context with whatever task is current there.
        """
        if not ctx:
            raise ValueError("test_run needs a non-empty context (ctx_size_in > 0)")
        cbuf = ctypes.create_string_buffer(bytes(ctx), len(ctx))
        attr = bytearray(80)
        struct.pack_into("<I", attr, 0, self.fd)
        struct.pack_into("<IxxxxQ", attr, 40, len(ctx), ctypes.addressof(cbuf))
        if cpu is not None:
            struct.pack_into("<II", attr, 64, BPF_F_TEST_RUN_ON_CPU, cpu)
        bpf(Cmd.PROG_TEST_RUN, attr, 80)
        return struct.unpack_from("<I", attr, 4)[0]

    def info(self) -> dict:
        """bpf_prog_info (run_cnt/run_time_ns count only while enable_stats() is held)."""
        return prog_info(self.fd)


def _prog_load(insns: bytes, prog_type: int, name: bytes, license_buf, expected_attach_type: int,
               attach_btf_id: int, attach_btf_obj_fd: int, prog_flags: int, prog_btf_fd: int,
               func_info: Sequence[tuple[int, int]], log_level: int,
               log_buf) -> tuple[int, int]:
    """One PROG_LOAD; returns (fd or -errno, log_true_size)."""
    ibuf = ctypes.create_string_buffer(insns, len(insns))
    finfo = (ctypes.c_uint32 * (2 * len(func_info)))(*[v for pair in func_info for v in pair])
    attr = bytearray(160)
    struct.pack_into("<IIQQ", attr, 0, prog_type, len(insns) // 8, ctypes.addressof(ibuf),
                     ctypes.addressof(license_buf))
    if log_buf is not None:
        struct.pack_into("<IIQ", attr, 24, log_level, len(log_buf), ctypes.addressof(log_buf))
    struct.pack_into("<I", attr, 44, prog_flags)
    attr[48:48 + len(name)] = name
    struct.pack_into("<I", attr, 68, expected_attach_type)
    if prog_btf_fd or func_info:
        struct.pack_into("<IIQI", attr, 72, prog_btf_fd, 8, ctypes.addressof(finfo),
                         len(func_info))
    struct.pack_into("<II", attr, 108, attach_btf_id, attach_btf_obj_fd)
    try:
        fd = bpf(Cmd.PROG_LOAD, attr)
    except BPFError as e:
        return -e.errno, struct.unpack_from("<I", attr, 140)[0]
    return fd, struct.unpack_from("<I", attr, 140)[0]


def load_program(insns: bytes, prog_type: int, name: str = "", license: str = "GPL",
                 expected_attach_type: int = 0, attach_btf_id: int = 0, log_level: int = 0,
                 attach_btf_obj_fd: int = 0, prog_flags: int = 0, prog_btf_fd: int = 0,
                 func_info: Sequence[tuple[int, int]] = ()) -> Program:
    """BPF_PROG_LOAD `insns` (8 bytes each); raise VerifierError with the full log on failure.

    The first try runs without a log (fastest) unless `log_level` is given; a failure is
    retried with log_level 1 (or the given level) and a log buffer grown to the kernel's
    `log_true_size`, since a short buffer gives ENOSPC and keeps only the log's tail.
    Programs with callbacks (bpf_loop) need `prog_btf_fd` (btf.load_btf(btf.func_info_btf(..)))
    and `func_info` = [(first insn of each function, its FUNC type id), ...].
    """
    if len(insns) % 8 or not insns:
        raise ValueError(f"instructions must be a non-empty multiple of 8 bytes, got {len(insns)}")
    cname = obj_name(name)
    lic = ctypes.create_string_buffer(license.encode())
    args = (insns, prog_type, cname, lic, expected_attach_type, attach_btf_id,
            attach_btf_obj_fd, prog_flags, prog_btf_fd, tuple(func_info))
    size = LOG_START_SIZE
    log_buf = ctypes.create_string_buffer(size) if log_level else None
    fd, true_size = _prog_load(*args, log_level, log_buf)
    if fd >= 0:
        return Program(fd, prog_type, name, len(insns) // 8, expected_attach_type,
                       log_buf.value.decode(errors="replace") if log_buf is not None else "")
    level = log_level or 1
    err = -fd
    log = log_buf.value.decode(errors="replace") if log_buf is not None else ""
    for _ in range(4):
        if log_buf is not None and err != errno.ENOSPC:
            break  # a complete log of the real failure
        size = min(max(size, true_size + 1), LOG_MAX_SIZE)
        log_buf = ctypes.create_string_buffer(size)
        fd, true_size = _prog_load(*args, level, log_buf)
        log = log_buf.value.decode(errors="replace")
        if fd >= 0:  # passed once logging was on; keep the fd and the log
            return Program(fd, prog_type, name, len(insns) // 8, expected_attach_type, log)
        err = -fd
        if err == errno.ENOSPC and true_size > size:
            size = true_size
    summary = _log_summary(log)
    if log.strip():
        message = (f"BPF program {name!r} ({len(insns) // 8} insns) was rejected by the "
                   f"verifier ({errno_name(err)}): {summary}")
    else:
        message = (f"BPF program {name!r} ({len(insns) // 8} insns) could not be loaded "
                   f"({errno_name(err)}: {os.strerror(err)}); the kernel gave no verifier log")
    raise VerifierError(err, message, log, name, len(insns) // 8)


def enable_stats() -> int:
    """BPF_ENABLE_STATS(RUN_TIME): run_cnt/run_time_ns are counted while the returned fd is open."""
    attr = bytearray(8)
    struct.pack_into("<I", attr, 0, BPF_STATS_RUN_TIME)
    return bpf(Cmd.ENABLE_STATS, attr, 8)


class Link(FdObject):
    """An attachment; close() detaches. May own extra fds (the perf event it attached to)."""

    def __init__(self, fd: int, kind: str, owned_fds: Sequence[int] = ()):
        self.fd = fd
        self.kind = kind
        self.owned_fds = list(owned_fds)

    def close(self) -> None:
        """Detach: close the link fd, then any fd the link owns."""
        fds = ([self.fd] if self.fd >= 0 else []) + self.owned_fds
        self.fd, self.owned_fds = -1, []
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def __repr__(self) -> str:
        return f"Link({self.kind}, fd={self.fd})"


def _fd(prog) -> int:
    return prog if isinstance(prog, int) else prog.fd


def attach_raw_tracepoint(prog, name: str | None, cookie: int = 0) -> Link:
    """RAW_TRACEPOINT_OPEN: attach a raw_tp program to tracepoint `name`.

    For a tp_btf (TRACING) program pass name=None: the target is its attach_btf_id.
    (LINK_CREATE for a plain raw_tp program gives EINVAL, so this is the way for both.)
    """
    nbuf = ctypes.create_string_buffer(name.encode()) if name is not None else None
    attr = bytearray(24)
    struct.pack_into("<QIxxxxQ", attr, 0, ctypes.addressof(nbuf) if nbuf is not None else 0,
                     _fd(prog), cookie)
    fd = bpf(Cmd.RAW_TRACEPOINT_OPEN, attr, 24)
    return Link(fd, f"raw_tp:{name or 'btf'}")


def attach_perf_event(prog, perf_fd: int, cookie: int = 0, own_perf_fd: bool = True) -> Link:
    """Attach to a perf event fd (tracepoint, uprobe, cpu-clock) and enable the event.

    LINK_CREATE (attach type PERF_EVENT); if that fails, PERF_EVENT_IOC_SET_BPF. With
    `own_perf_fd` the returned Link also closes the perf fd (which is what detaches SET_BPF).
    """
    attr = bytearray(32)
    struct.pack_into("<IIIIQ", attr, 0, _fd(prog), perf_fd, AttachType.PERF_EVENT, 0, cookie)
    owned = [perf_fd] if own_perf_fd else []
    try:
        link = Link(bpf(Cmd.LINK_CREATE, attr, 32), "perf_event", owned)
    except BPFError as e:
        if cookie or e.errno not in (errno.EINVAL, errno.ENOTTY, errno.EOPNOTSUPP, 524):
            raise
        fcntl.ioctl(perf_fd, PERF_EVENT_IOC_SET_BPF, _fd(prog))
        link = Link(-1, "perf_event(ioctl)", owned)
    fcntl.ioctl(perf_fd, PERF_EVENT_IOC_ENABLE, 0)
    return link


def attach_uprobe_multi(prog, path: str, offsets: Sequence[int],
                        ref_ctr_offsets: Sequence[int] | None = None,
                        cookies: Sequence[int] | None = None, pid: int = -1,
                        retprobe: bool = False) -> Link:
    """One uprobe_multi link for many FILE offsets in `path` (prog loaded with attach type 48).

    One bad offset fails the whole link (errno 524, ENOTSUPP). pid <= 0 means every process.
    """
    n = len(offsets)
    if n == 0:
        raise ValueError("uprobe_multi needs at least one offset")
    for seq, what in ((ref_ctr_offsets, "ref_ctr_offsets"), (cookies, "cookies")):
        if seq is not None and len(seq) != n:
            raise ValueError(f"{what} has {len(seq)} entries for {n} offsets")
    u64s = ctypes.c_uint64 * n
    pbuf = ctypes.create_string_buffer(os.fsencode(path))
    obuf = u64s(*offsets)
    rbuf = u64s(*ref_ctr_offsets) if ref_ctr_offsets is not None else None
    cbuf = u64s(*cookies) if cookies is not None else None
    attr = bytearray(64)
    struct.pack_into("<IIII", attr, 0, _fd(prog), 0, AttachType.TRACE_UPROBE_MULTI, 0)
    struct.pack_into("<QQQQIII", attr, 16, ctypes.addressof(pbuf), ctypes.addressof(obuf),
                     ctypes.addressof(rbuf) if rbuf is not None else 0,
                     ctypes.addressof(cbuf) if cbuf is not None else 0,
                     n, BPF_F_UPROBE_MULTI_RETURN if retprobe else 0, max(pid, 0))
    fd = bpf(Cmd.LINK_CREATE, attr, 64)
    return Link(fd, f"uprobe_multi:{path}[{n}]")


def _next_id(after: int) -> int | None:
    attr = bytearray(12)
    struct.pack_into("<I", attr, 0, after)
    try:
        bpf(Cmd.PROG_GET_NEXT_ID, attr, 12)
    except BPFError as e:
        if e.errno == errno.ENOENT:
            return None
        raise
    return struct.unpack_from("<I", attr, 4)[0]


def list_loaded_programs() -> list[dict]:
    """Every program loaded in the kernel: dicts with id, name, type (and the rest of prog_info)."""
    out = []
    pid = 0
    while (pid := _next_id(pid)) is not None:
        attr = bytearray(12)
        struct.pack_into("<I", attr, 0, pid)
        try:
            fd = bpf(Cmd.PROG_GET_FD_BY_ID, attr, 12)
        except BPFError as e:
            if e.errno == errno.ENOENT:  # unloaded since GET_NEXT_ID
                continue
            raise
        try:
            out.append(prog_info(fd))
        finally:
            os.close(fd)
    return out

