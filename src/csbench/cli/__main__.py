"""``python -m csbench.cli``."""

import sys

from csbench.cli.app import main

sys.exit(main())
