"""Testing WebSocket clients, sorted by kind.

Pure data and judging (no sockets, no asyncio):

* :mod:`.scenarios`: what the scenario server does on each path, what the script (the
  adapter) is told to do, and the facts the judge reads: one record per scenario.
* :mod:`.expected`: the script-visible events per scenario, from
  :mod:`conformance.model.user_agent`.
* :mod:`.protocol`: the JSON-lines adapter contract (``docs/client-adapters.md``).
* :mod:`.observation`: what one scenario showed (events and wire records).
* :mod:`.judge`: the verdict per profile (``whatwg``, ``rfc6455-client``);
  :mod:`.request_checks` and :mod:`.run_checks`: the opening requests and run-wide checks.

Programs and I/O:

* :mod:`.scenario_server`: the misbehaving-on-purpose server that plays the scenarios and
  records what the client sent.
* :mod:`.harness` drives one adapter process through the scenarios; :mod:`.runner` runs a
  whole suite (selection, network namespace, reports).
* :mod:`.browser`: the browser adapter; :mod:`.reference`: the reference client adapter;
  :mod:`.adapter_lines`: the JSON-lines plumbing of the Python adapters.
"""
