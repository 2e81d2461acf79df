"""``python -m addon.local`` (``make run``): see ``addon.local.runner``."""

import sys

from addon.local.runner import main

sys.exit(main())
