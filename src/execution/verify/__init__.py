"""Chaos verification: scenarios against real processes (``riskguard verify``).

``stack`` runs a paper terminal, a monitor and an engine on a derived config; ``scenarios`` holds
the scenarios as data; ``runner`` runs them and writes the results file; ``report`` prints them.
"""

from execution.verify.model import Result, RunContext, Scenario, Status
from execution.verify.stack import Stack, running_stack, wait_for

__all__ = ["Result", "RunContext", "Scenario", "Stack", "Status", "running_stack", "wait_for"]
