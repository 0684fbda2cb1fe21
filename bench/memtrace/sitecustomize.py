"""Diagnostic only (``bench/soak.py --tracemalloc``): trace Python allocations in a child process.

Python imports ``sitecustomize`` at start-up when it is on ``sys.path``; the soak puts this
directory on ``PYTHONPATH`` and sets ``RISKGUARD_MEMTRACE_DIR``. Tracing starts after one
``RISKGUARD_MEMTRACE_EVERY`` interval (past the imports), then every interval a snapshot goes
to ``<dir>/<pid>-<n>.snap`` for the soak to diff; only in the process whose command line holds
the word in ``RISKGUARD_MEMTRACE_ONLY``. Never on a production path: tracing costs 2-5x CPU.
"""

from __future__ import annotations

import os
import sys

_DIR = os.environ.get("RISKGUARD_MEMTRACE_DIR")

if _DIR and os.environ.get("RISKGUARD_MEMTRACE_ONLY", "") in sys.argv:
    import threading
    import time
    import tracemalloc

    def _dump_forever(directory: str, every: float) -> None:
        time.sleep(every)  # start after the imports: tracing them takes ~20 s
        tracemalloc.start(int(os.environ.get("RISKGUARD_MEMTRACE_FRAMES", "8")))
        for n in range(1_000_000):
            time.sleep(every)
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)]
            )
            snapshot.dump(os.path.join(directory, f"{os.getpid()}-{n:04d}.snap"))

    threading.Thread(
        target=_dump_forever,
        args=(_DIR, float(os.environ.get("RISKGUARD_MEMTRACE_EVERY", "30"))),
        name="memtrace",
        daemon=True,
    ).start()
