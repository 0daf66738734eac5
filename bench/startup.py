"""Start-up time: `dtrace -n 'BEGIN { exit(0); }'` against `bpftrace -e 'BEGIN { exit(); }'`.

Runs each command N times (default 10) and prints the median wall time of each and the ratio.
bpftrace comes from Debian's package (`apt-get install bpftrace`); without it only ours is timed.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DTRACE = os.path.join(os.path.dirname(HERE), ".venv", "bin", "dtrace")


def timeit(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    dtrace = DTRACE if os.path.exists(DTRACE) else shutil.which("dtrace")
    ours = timeit([dtrace, "-qn", "BEGIN { exit(0); }"], runs)
    print(f"pydtrace  dtrace -n 'BEGIN {{ exit(0); }}'    median {ours * 1000:8.1f} ms over {runs} runs")
    bt = shutil.which("bpftrace")
    if bt is None:
        print("bpftrace not installed (apt-get install bpftrace): no comparison")
        return 0
    theirs = timeit([bt, "-e", "BEGIN { exit(); }"], runs)
    print(f"bpftrace  bpftrace -e 'BEGIN {{ exit(); }}'   median {theirs * 1000:8.1f} ms over {runs} runs")
    print(f"ratio pydtrace/bpftrace: {ours / theirs:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
