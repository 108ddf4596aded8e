"""``python -m apsystems check|simulate``."""

import sys

from apsystems.cli import main

sys.exit(main())
