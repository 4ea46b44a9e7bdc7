"""`python -m daemon` runs the caredesk command line."""

import sys

from daemon.cli import main

sys.exit(main())
