"""Hostile and broken files: how long each takes to refuse and the memory it costs.

Each file of tests/support/hostile_files.py is loaded as benchctl loads a bench config, a scenario or a PICS
(benchctl.config.marked.load_marked), in a fresh process: the wall time of the load, the peak of Python's
allocations during it (tracemalloc, in a second load) and how much the process's peak
resident size grew (ru_maxrss, which also sees libyaml's C allocations).

    .venv/bin/python benchmarks/hostile_files.py

Target (issue 15): every one is a one-line FILE:LINE error within a second and in bounded memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.hostile_files import HOSTILE  # noqa: E402

CHILD = """
import json, resource, sys, time, tracemalloc
from benchctl.config import ConfigError
from benchctl.config.marked import load_marked

def load():
    try:
        load_marked(sys.argv[1])
    except ConfigError as exc:
        return str(exc)

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
error = load()
elapsed = time.perf_counter() - started
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
tracemalloc.start()  # a second load, traced: tracing slows it down, so the time is the first one's
load()
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"s": elapsed, "peak": peak, "rss_kb": grown, "error": error}))
"""


def measure(path: Path) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=60,
                         cwd=ROOT, check=True)
    return json.loads(out.stdout)


def main() -> int:
    print(f"{'file':<20} {'bytes':>9} {'time':>9} {'py peak':>9} {'rss grew':>9}  error")
    slow = False
    with tempfile.TemporaryDirectory() as folder:
        for hostile in HOSTILE:
            path = Path(folder) / f"{hostile.name}.yaml"
            path.write_bytes(hostile.content)
            m = measure(path)
            slow |= m["s"] > 1.0 or m["error"] is None
            error = str(m["error"]).replace(str(path), hostile.name + ".yaml")
            print(f"{hostile.name:<20} {len(hostile.content):>9,} {m['s'] * 1000:>7.1f}ms "
                  f"{m['peak'] / 1024 / 1024:>7.2f}MB {m['rss_kb'] / 1024:>7.1f}MB  {error[:90]}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
