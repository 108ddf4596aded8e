"""Small helpers every package uses: time zones and months, atomic JSON files (no AppDaemon)."""
