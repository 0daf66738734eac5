"""Shared test fixtures: decide once whether real BPF works here.

Tests that need the kernel's BPF use one of:

    def test_x(needs_bpf): ...            # fixture
    @pytest.mark.needs_bpf                 # marker (same effect)
    def test_y(): ...
    require_bpf()                          # call, e.g. inside a helper or a module fixture

Without BPF (not root, bpf(2) gives EPERM/EACCES/ENOSYS) these tests are SKIPPED with the
reason; with the environment variable PYDTRACE_REQUIRE_BPF=1 (as CI sets it) they FAIL
instead, so a machine that silently lost BPF cannot pass the suite.
"""

from __future__ import annotations

import os

import pytest

_bpf_state: tuple[bool, str] | None = None  # cache: probed once per test session


def _probe_bpf() -> tuple[bool, str]:
    """Create and close a tiny array map; report (usable, reason)."""
    global _bpf_state
    if _bpf_state is None:
        try:
            from pydtrace.bpf.maps import Map
            from pydtrace.bpf.sys import MapType

            Map.create(MapType.ARRAY, 4, 4, 1, "probe").close()
            _bpf_state = (True, "")
        except OSError as e:
            who = "uid 0" if os.geteuid() == 0 else f"uid {os.geteuid()}, not root"
            _bpf_state = (False, f"BPF is not usable here ({who}): {e}")
        except Exception as e:  # an import error in pydtrace.bpf is a bug: report it
            _bpf_state = (False, f"BPF probe failed: {e!r}")
    return _bpf_state


def require_bpf() -> None:
    """Skip the calling test when BPF is unusable; fail instead if PYDTRACE_REQUIRE_BPF=1."""
    ok, reason = _probe_bpf()
    if ok:
        return
    if os.environ.get("PYDTRACE_REQUIRE_BPF") == "1":
        pytest.fail(f"PYDTRACE_REQUIRE_BPF=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def needs_bpf() -> None:
    """Fixture form of require_bpf()."""
    require_bpf()


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "needs_bpf: needs a kernel where bpf(2) works (skips, or fails with "
                   "PYDTRACE_REQUIRE_BPF=1)")


def pytest_runtest_setup(item) -> None:
    if item.get_closest_marker("needs_bpf") is not None:
        require_bpf()
