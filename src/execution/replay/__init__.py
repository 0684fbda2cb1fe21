"""What-if replay: the risk limits over a historical tick file (``riskguard replay``).

``engine`` runs the live monitor's loop on the replay clock, ``report`` writes ``report.json`` and
``report.md``, ``charts`` the PNGs, ``sweep`` builds one config per swept setting.
"""

from execution.replay.breaker import MemoryBreaker, pick_trip
from execution.replay.broker import PositionSpec, parse_position, read_positions_file
from execution.replay.clock import ReplayClock
from execution.replay.engine import ReplayRun, RunSetup, replay_file

__all__ = [
    "MemoryBreaker",
    "PositionSpec",
    "ReplayClock",
    "ReplayRun",
    "RunSetup",
    "parse_position",
    "pick_trip",
    "read_positions_file",
    "replay_file",
]
