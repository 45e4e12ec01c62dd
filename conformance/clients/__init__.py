"""Testing WebSocket clients: scenarios, the scenario server, the adapter harness.

* :mod:`.scenarios`: what the scenario server does on each path and what the script
  (the adapter) is told to do: data, one record per scenario.
* :mod:`.scenario_server`: the misbehaving-on-purpose server that plays them and records
  what the client sent.
* :mod:`.protocol`: the JSON-lines adapter contract (``docs/client-adapters.md``).
* :mod:`.harness`: drives one adapter process through the scenarios.
* :mod:`.judge`: the verdict per profile (``whatwg`` from :mod:`conformance.model.user_agent`,
  ``rfc6455-client`` from the RFC's client rules) for what the client did.
"""
