"""The session layer: what a running case drives, between the cases and the driver.

Nothing here is a case: :mod:`conformance.cases` holds the case tables and
:mod:`conformance.fuzz` the property tests, and both run on this layer.

* :mod:`.context` -- :class:`~.context.CaseContext`, what a running case may use (the
  target, its deadline, a transcript), and :class:`~.context.CannotRun`;
* :mod:`.wire` -- :class:`~.wire.WireSession`, an open WebSocket connection after a
  valid opening handshake (RFC 6455 §4.1), the client frames it sends (§5.1, §5.3)
  and how a case watches the server's answer (§7.1.7);
* :mod:`.preflight` -- one valid opening handshake before any case runs, and the
  one-line diagnosis of a target that is not a WebSocket server (§4.1);
* :mod:`.plans` -- messages and fragments as data (§5.4), how they are written to TCP
  and what a server must echo for them.
"""
