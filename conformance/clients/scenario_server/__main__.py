"""``python -m conformance.clients.scenario_server``: serve the scenarios by hand."""

import sys

from .server import main

sys.exit(main())
