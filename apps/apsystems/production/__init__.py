"""System production: energy bookkeeping, poll scheduling, the production shared with other apps."""
