"""``python -m emulator.conformance URL ...`` or ``python -m emulator.conformance capture URL``."""

import sys

from . import capture_main, main

if len(sys.argv) > 1 and sys.argv[1] == "capture":
    sys.exit(capture_main(sys.argv[2:]))
sys.exit(main(sys.argv[1:]))
