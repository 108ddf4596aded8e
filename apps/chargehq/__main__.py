"""``python -m chargehq …`` (run with ``apps`` on the path); guarded so that importing it does nothing."""

from __future__ import annotations

if __name__ == "__main__":
    from chargehq.cli import main

    raise SystemExit(main())
