"""Maps against the real kernel: CRUD, flags, iteration (batched and not), per-CPU values."""

from __future__ import annotations

import errno
import struct

import pytest

from pydtrace.bpf.maps import Map, online_cpus, parse_cpu_list, possible_cpus
from pydtrace.bpf.sys import BPF_EXIST, BPF_NOEXIST, BPFError, MapType

pytestmark = pytest.mark.needs_bpf

u32 = struct.Struct("<I").pack
u64 = struct.Struct("<Q").pack


def test_parse_cpu_list():
    assert parse_cpu_list("0-3,5,7-8\n") == [0, 1, 2, 3, 5, 7, 8]
    assert parse_cpu_list("0\n") == [0]
    assert possible_cpus()[0] == 0
    assert set(online_cpus()) <= set(possible_cpus())


def test_hash_crud_and_flags():
    with Map.create(MapType.HASH, 4, 8, 16, "t_hash") as m:
        assert m.lookup(u32(1)) is None
        m.update(u32(1), u64(10))
        assert m.lookup(u32(1)) == u64(10)
        with pytest.raises(BPFError) as ei:
            m.update(u32(1), u64(11), BPF_NOEXIST)
        assert ei.value.errno == errno.EEXIST
        assert "BPF_MAP_UPDATE_ELEM" in str(ei.value)
        with pytest.raises(BPFError) as ei:
            m.update(u32(2), u64(2), BPF_EXIST)
        assert ei.value.errno == errno.ENOENT
        m.update(u32(1), u64(12), BPF_EXIST)
        assert m.lookup(u32(1)) == u64(12)
        assert m.delete(u32(1)) is True
        assert m.delete(u32(1)) is False
        with pytest.raises(ValueError):
            m.lookup(b"\0")
    assert m.fd == -1


def test_map_info_and_name():
    with Map.create(MapType.ARRAY, 4, 16, 3, "t_info") as m:
        info = m.info()
        assert info["type"] == MapType.ARRAY
        assert (info["key_size"], info["value_size"], info["max_entries"]) == (4, 16, 3)
        assert info["name"] == "t_info"
        assert info["id"] > 0


@pytest.mark.parametrize("map_type", [MapType.HASH, MapType.LRU_HASH, MapType.ARRAY],
                         ids=["hash", "lru_hash", "array"])
def test_items_batch_equals_get_next_key(map_type):
    n = 300
    with Map.create(map_type, 4, 8, n, "t_items") as m:
        for i in range(n):
            m.update(u32(i), u64(i * 7))
        fast = sorted(m.items())
        assert m._batch_ok is True  # these map types support MAP_LOOKUP_BATCH
        slow = sorted(m._items_slow())
        assert fast == slow
        assert len(fast) == n
        assert dict(fast)[u32(5)] == u64(35)
        assert sorted(m.keys()) == sorted(u32(i) for i in range(n))


def test_items_on_empty_hash_and_unbatchable_map():
    with Map.create(MapType.HASH, 8, 8, 64, "t_empty") as m:
        assert m.items() == []
    with Map.create(MapType.STACK_TRACE, 4, 8 * 127, 16, "t_stacks") as s:
        assert s.items() == []  # falls back to GET_NEXT_KEY when batching is refused


def test_hash_batch_with_many_colliding_entries():
    # Enough entries that a batch of 4096 crosses many buckets; the result must be complete.
    n = 10000
    with Map.create(MapType.HASH, 8, 8, n, "t_big") as m:
        for i in range(n):
            m.update(u64(i), u64(i))
        items = m.items()
        assert len(items) == n
        assert {struct.unpack("<Q", k)[0] for k, _ in items} == set(range(n))


def test_percpu_array_values():
    ncpu = len(possible_cpus())
    with Map.create(MapType.PERCPU_ARRAY, 4, 12, 2, "t_pcpu") as m:
        assert m.user_value_size == ncpu * 16  # value_size rounded up to 8 per CPU
        vals = m.lookup_percpu(u32(0))
        assert vals == [b"\0" * 12] * ncpu
        m.update_percpu(u32(1), [bytes([c + 1]) * 12 for c in range(ncpu)])
        got = m.lookup_percpu(u32(1))
        assert got == [bytes([c + 1]) * 12 for c in range(ncpu)]
        items = dict(m.items_percpu())
        assert items[u32(1)] == got
        assert len(items) == 2


def test_percpu_hash_values():
    ncpu = len(possible_cpus())
    with Map.create(MapType.PERCPU_HASH, 4, 8, 8, "t_pcpuh") as m:
        assert m.lookup_percpu(u32(9)) is None
        m.update_percpu(u32(9), [u64(100 + c) for c in range(ncpu)])
        assert m.lookup_percpu(u32(9)) == [u64(100 + c) for c in range(ncpu)]
        assert m.items_percpu() == [(u32(9), [u64(100 + c) for c in range(ncpu)])]
        with pytest.raises(ValueError):
            m.update(u32(1), u64(1))  # a per-CPU update needs every CPU's value


def test_freeze_makes_map_read_only_for_user_space():
    with Map.create(MapType.ARRAY, 4, 8, 1, "t_ro") as m:
        m.update(u32(0), u64(42))
        m.freeze()
        assert m.lookup(u32(0)) == u64(42)
        with pytest.raises(BPFError) as ei:
            m.update(u32(0), u64(1))
        assert ei.value.errno == errno.EPERM


def test_create_failure_names_the_command():
    with pytest.raises(BPFError) as ei:
        Map.create(MapType.HASH, 0, 8, 1)  # zero-sized key: EINVAL
    assert ei.value.errno == errno.EINVAL
    assert "BPF_MAP_CREATE" in str(ei.value)
