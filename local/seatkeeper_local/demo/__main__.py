"""`python -m seatkeeper_local.demo`: the demo story, as `seatkeeper demo` tells it."""

import sys

from seatkeeper_local.demo.story import run

sys.exit(run())
