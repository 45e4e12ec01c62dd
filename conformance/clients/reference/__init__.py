"""The reference client: a WHATWG ``WebSocket`` built on the suite's sans-IO model, run as
a JSON-lines adapter (docs/client-adapters.md)."""
