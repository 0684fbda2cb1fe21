"""Everything that touches a broker or a process lifecycle; builds on ``risk``."""
