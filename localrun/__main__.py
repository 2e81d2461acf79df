"""``python -m localrun`` (``make run``): see ``localrun.command`` and ``localrun.runner``."""

import sys

from localrun.command import main

sys.exit(main())
