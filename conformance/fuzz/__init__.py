"""``wsconform fuzz``: property tests against a live server (RFC 6455 §5.4, §5.5, §7.1.7).

Two properties, each checked on ``--examples`` random cases drawn from a seeded
:class:`random.Random` (the seed is printed, so any run can be repeated):

* ``fuzz/echo/<n>``: random text and binary messages (0-64 KiB), randomly fragmented
  (§5.4), with Pings injected between fragments (§5.4, §5.5.2) and the stream cut into
  random TCP writes (§5.4: "must not depend on the presence of specific frame
  boundaries"), come back unchanged, and every Pong echoes a Ping's data (§5.5.3).
* ``fuzz/invalid/<n>``: after valid traffic and a Ping/Pong barrier, one frame breaking
  one rule of §5 (or §8.1) makes the server _Fail the WebSocket Connection_ (§7.1.7):
  a Close 1002/1007 or a TCP close, and no Pong for a Ping sent after it.

A failing case is shrunk (fewest frames, then shortest payloads, then fewest TCP
writes), each candidate checked against the suite's own model so that it stays valid
(or breaks the same single rule), and re-run against the server: only candidates that
fail the same way are kept. The counterexample is reported with the seed and the
exact bytes sent, as a :class:`~conformance.results.CaseResult`, so every report
format shows it.

Modules: :mod:`.scenario` (a case and the model's reading), :mod:`.generate`,
:mod:`.judge`, :mod:`.trial` (one live run), :mod:`.shrink`, :mod:`.report`,
:mod:`.campaign` (the whole run).
"""
