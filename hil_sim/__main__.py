"""`python -m hil_sim`: the same as `benchctl sim`."""

import sys

from benchctl.cli import main

sys.exit(main(["sim", *sys.argv[1:]]))
