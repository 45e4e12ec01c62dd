"""``python -m conformance.clients.reference``: run the reference client adapter."""

from .client import main

main()
