"""The browser adapter: a program that drives a headless browser's ``WebSocket`` through
the JSON-lines contract (docs/client-adapters.md)."""
