"""Ring buffer: records written by a program run with PROG_TEST_RUN come back through mmap."""

from __future__ import annotations

import os
import struct
import threading
import time

import pytest

from test_bpf_handasm import Asm
from pydtrace.bpf.btf import func_info_btf, load_btf
from pydtrace.bpf.maps import Map
from pydtrace.bpf.program import load_program
from pydtrace.bpf.ringbuf import RingBuffer
from pydtrace.bpf.sys import Helper, MapType, ProgType

pytestmark = pytest.mark.needs_bpf

CTX1 = bytes(8)


def writer(ring_fd: int, discard_second: bool = False) -> bytes:
    """Reserve 16 bytes: pid_tgid, then ctx[0]; submit. Optionally reserve+discard another."""
    a = Asm().mov_reg(7, 1)
    a.ld_map_fd(1, ring_fd).mov_imm(2, 16).mov_imm(3, 0).call(Helper.ringbuf_reserve)
    a.jeq_imm(0, 0, "out").mov_reg(6, 0)
    a.call(Helper.get_current_pid_tgid).stx_dw(6, 0, 0)
    a.ldx_dw(1, 7, 0).stx_dw(6, 8, 1)
    a.mov_reg(1, 6).mov_imm(2, 0).call(Helper.ringbuf_submit)
    if discard_second:
        a.ld_map_fd(1, ring_fd).mov_imm(2, 40).mov_imm(3, 0).call(Helper.ringbuf_reserve)
        a.jeq_imm(0, 0, "out").mov_reg(1, 0).mov_imm(2, 0).call(Helper.ringbuf_discard)
    a.label("out").mov_imm(0, 0).exit()
    return bytes(a)


def test_test_run_writes_a_record_we_read_back():
    with RingBuffer.create(4096 * 4, "t_rb") as rb:
        assert not rb.poll(0)
        with load_program(writer(rb.fd), ProgType.RAW_TRACEPOINT, "t_rbw") as prog:
            prog.test_run(struct.pack("<Q", 0xABCDEF))
            prog.test_run(struct.pack("<Q", 2))
        assert rb.poll(0)
        got = rb.read_all()
        tid = threading.get_native_id()
        assert [struct.unpack("<QQ", r) for r in got] == [
            ((os.getpid() << 32) | tid, 0xABCDEF), ((os.getpid() << 32) | tid, 2)]
        assert rb.read_all() == []
        assert rb.available() == 0


def test_discarded_records_are_skipped_and_ring_wraps():
    size = 4096
    with RingBuffer.create(size, "t_rbw2") as rb:
        with load_program(writer(rb.fd, discard_second=True), ProgType.RAW_TRACEPOINT,
                          "t_rbd") as prog:
            seen = []
            # 24 + 48 bytes per run: many runs wrap the 4 KiB ring several times.
            for i in range(300):
                prog.test_run(struct.pack("<Q", i))
                if i % 7 == 6:
                    rb.drain(lambda v: seen.append(struct.unpack_from("<Q", v, 8)[0]))
            rb.drain(lambda v: seen.append(struct.unpack_from("<Q", v, 8)[0]))
        assert seen == list(range(300))


def test_poll_wakes_up_on_a_record_from_another_thread():
    with RingBuffer.create(4096, "t_rbp") as rb:
        prog = load_program(writer(rb.fd), ProgType.RAW_TRACEPOINT, "t_rbp")
        t = threading.Timer(0.05, prog.test_run, args=(CTX1,))
        t.start()
        start = time.monotonic()
        assert rb.poll(2000)
        assert time.monotonic() - start < 1.5
        t.join()
        assert len(rb.read_all()) == 1
        prog.close()


def test_ringbuffer_rejects_wrong_map():
    with Map.create(MapType.ARRAY, 4, 4, 1) as m:
        with pytest.raises(ValueError):
            RingBuffer(m)


def test_drain_throughput_with_bpf_loop():
    """One test run fills the ring through bpf_loop; draining must beat 300k records/s."""
    n = 100_000
    with RingBuffer.create(1 << 22, "t_rbfast") as rb:
        a = Asm()
        a.mov_imm(1, n).ld_func(2, "cb").mov_imm(3, 0).mov_imm(4, 0).call(Helper.bpf_loop)
        a.mov_imm(0, 0).exit()
        # callback(index, ctx): write the index into a 16-byte record
        a.label("cb").mov_reg(6, 1)
        a.ld_map_fd(1, rb.fd).mov_imm(2, 16).mov_imm(3, 0).call(Helper.ringbuf_reserve)
        a.jeq_imm(0, 0, "cbout").stx_dw(0, 0, 6).st_dw(0, 8, 0)
        a.mov_reg(1, 0).mov_imm(2, 0).call(Helper.ringbuf_submit)
        a.label("cbout").mov_imm(0, 0).exit()
        # A callback pointer needs BTF func_info ("missing btf func_info" otherwise).
        btf_fd = load_btf(func_info_btf(["main", "cb"]))
        try:
            prog = load_program(bytes(a), ProgType.RAW_TRACEPOINT, "t_rbloop",
                                prog_btf_fd=btf_fd, func_info=[(0, 3), (a.labels()["cb"], 4)])
        finally:
            os.close(btf_fd)
        with prog:
            prog.test_run(CTX1)
        total = 0
        unpack = struct.Struct("<Q").unpack_from

        def cb(view):
            nonlocal total
            total += unpack(view, 0)[0]

        start = time.perf_counter()
        count = rb.drain(cb)
        elapsed = time.perf_counter() - start
        assert count == n
        assert total == n * (n - 1) // 2
        assert count / elapsed > 300_000, f"{count / elapsed:.0f} records/s"
