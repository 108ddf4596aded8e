"""Developer scripts (the demo, config generation); run with ``python -m scripts.<name>``."""

import sys
from pathlib import Path

# The apps are deployed as top-level packages (apsystems, chargehq) from apps/.
_APPS = str(Path(__file__).resolve().parents[1] / "apps")
if _APPS not in sys.path:
    sys.path.insert(0, _APPS)
