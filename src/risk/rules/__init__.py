"""One module per rule. Each turns inputs + limits into a value and a ``Level`` — no I/O."""
