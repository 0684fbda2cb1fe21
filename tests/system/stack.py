"""The three-process stack for system tests: :mod:`execution.verify.stack` on the shipped config.

``running_stack(root, replacements)`` keeps the tests' text edits of the shipped config
(``{"  stale_feed_seconds: 10": "  stale_feed_seconds: 2"}``, each must occur exactly once).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from execution.verify import stack as _stack
from execution.verify.stack import Stack, free_port, wait_for
from tests.conftest import SHIPPED_CONFIG

__all__ = ["Stack", "free_port", "running_stack", "wait_for"]


@contextmanager
def running_stack(root: Path, replacements: Mapping[str, str] | None = None) -> Iterator[Stack]:
    with _stack.running_stack(root, SHIPPED_CONFIG, replacements=replacements) as stack:
        yield stack
