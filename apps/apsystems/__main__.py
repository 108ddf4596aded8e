"""``python -m apsystems check|plan|simulate``."""

import sys

from apsystems.cli import main

sys.exit(main())
