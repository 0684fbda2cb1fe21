"""riskguard's pure risk kernel: config, rules, evaluator and the persisted circuit breaker.

Nothing in this package talks to a broker or the network; ``execution`` builds on it.
"""
