"""Chaos verification: scenarios against real processes (``riskguard verify``)."""
