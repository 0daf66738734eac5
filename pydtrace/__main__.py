"""`python -m pydtrace` is the dtrace command."""

import sys

from .cli import main

sys.exit(main())
