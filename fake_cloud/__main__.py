"""`python -m fake_cloud`: the command line of cli.py."""

import sys

from fake_cloud.cli import main

sys.exit(main())
