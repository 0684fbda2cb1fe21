"""The MetaTrader5 seam: our typed copy of its API surface, result types and constants."""
