#!/usr/bin/env python3
"""The Wine side of the ``bridge`` backend: serve the real MetaTrader5 module over our bridge.

Run it with the Windows Python that has MetaTrader5 installed, next to the terminal under Wine:

    wine python.exe mt5_bridge_server.py --listen 127.0.0.1:18812

It serves only the MetaTrader5 API calls (an allow-list; no remote code execution, unlike an rpyc
classic server), plain values only, on loopback by default. Needs ``rpyc`` and ``numpy`` there
too, and this repository's ``src`` on the path for ``execution.mt5.bridge``.
"""

from __future__ import annotations

import argparse
import importlib
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:18812", help="HOST:PORT (keep it loopback)")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    try:
        mt5 = importlib.import_module("MetaTrader5")
    except ImportError:
        print(
            "MetaTrader5 is not importable: run this under the terminal's Windows Python",
            file=sys.stderr,
        )
        return 78
    from execution.mt5.bridge import make_server  # noqa: PLC0415 - after the platform check

    if not mt5.initialize():
        print(f"MetaTrader5.initialize() failed: {mt5.last_error()}", file=sys.stderr)
        return 1
    print(f"serving MetaTrader5 {mt5.version()} on {args.listen}")
    make_server(mt5, host, int(port)).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
