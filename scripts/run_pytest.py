#!/usr/bin/env python3
"""Run pytest the way CI must: no tests collected is a failure, and so is any skipped test.

pytest exits 5 when it collected nothing; a green run that tested nothing must not land.
Skips are refused through RISKGUARD_FORBID_SKIPS (see tests/conftest.py): a required part
(Kafka broker, systemd-analyze, a second process) that cannot start fails the run instead.
"""

from __future__ import annotations

import os
import subprocess
import sys

NO_TESTS_COLLECTED = 5


def main(argv: list[str]) -> int:
    env = {**os.environ, "RISKGUARD_FORBID_SKIPS": "1"}
    code = subprocess.call([sys.executable, "-m", "pytest", *argv], env=env)
    if code == NO_TESTS_COLLECTED:
        print("run_pytest: pytest collected no tests; that is a failure", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
