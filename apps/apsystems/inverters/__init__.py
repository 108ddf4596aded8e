"""Inverters: discovery, telemetry, the per-inverter store, scans and job slicing."""
