"""Apps inside a real, in-process AppDaemon 4.5.13 (no Home Assistant)."""
