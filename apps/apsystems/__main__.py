"""``python -m apsystems check|plan|simulate``."""

import sys

from apsystems.cli.main import main

sys.exit(main())
