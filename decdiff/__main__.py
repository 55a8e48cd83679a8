"""`python -m decdiff` runs the command line."""

import sys

from decdiff.cli import main

sys.exit(main())
