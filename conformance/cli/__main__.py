"""``python -m conformance.cli``: the ``wsconform`` command."""

import sys

from . import main

sys.exit(main())
