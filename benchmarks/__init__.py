"""Benchmarks: scripts that print figures (not timed assertions); run with ``python -m benchmarks.<name>``."""
