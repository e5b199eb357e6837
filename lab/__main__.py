"""``python -m lab`` (``make lab``)."""

import sys

from lab.world import main

sys.exit(main())
