"""pydtrace: DTrace for Linux, written in Python, running on eBPF."""

__version__ = "0.1.0"
