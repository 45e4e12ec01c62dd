"""ws-conformance: an executable, spec-cited WebSocket conformance suite."""

__version__ = "0.1.0"
