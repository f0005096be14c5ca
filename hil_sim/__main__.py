"""`python -m hil_sim`: the simulator on its own (what `benchctl sim` runs)."""

import sys

from .command import main

sys.exit(main())
