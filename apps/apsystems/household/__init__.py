"""APsystems meters and batteries (storage ECUs): readings, lifetime totals and their entities."""
