"""``python -m conformance.clients.browser chromium``: run the browser adapter."""

import sys

from .adapter import main

sys.exit(main())
