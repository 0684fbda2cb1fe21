"""The paper terminal: an in-process simulated MT5 terminal, tick scenarios and their runner.

terminal = PaperTerminal(AccountSettings(leverage=100), clock=SystemClock(), seed=7)
run = run_scenario(terminal, build_scenario("flash_crash", seed=7), speed=1.0, stop_event=stop)
"""

from execution.paper.events import (
    CloseDirect,
    Event,
    OpenDirect,
    Scenario,
    ScenarioError,
    TickEvent,
)
from execution.paper.runner import ScenarioFailed, ScenarioRun, apply_event, run_scenario
from execution.paper.scenarios import SCENARIOS, build_scenario
from execution.paper.settings import (
    DEFAULT_SYMBOLS,
    AccountSettings,
    SymbolSettings,
    default_symbols,
)
from execution.paper.terminal import API_METHODS, PaperTerminal

__all__ = [
    "API_METHODS",
    "DEFAULT_SYMBOLS",
    "SCENARIOS",
    "AccountSettings",
    "CloseDirect",
    "Event",
    "OpenDirect",
    "PaperTerminal",
    "Scenario",
    "ScenarioError",
    "ScenarioFailed",
    "ScenarioRun",
    "SymbolSettings",
    "TickEvent",
    "apply_event",
    "build_scenario",
    "default_symbols",
    "run_scenario",
]
