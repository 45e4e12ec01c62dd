"""The verdict policy: for each family of rules, the outcomes the text accepts and the
level of every alternative, with the clause that allows it.

Cases take their expectations and allowances from here (shared data), not from
per-case choices, so that the several hundred cases of a family read the text the
same way. ``docs/verdict-policy.md`` states each policy in prose with the competing
clauses; each module here is the executable form of one of its sections:

* :mod:`.handshake` -- refusing invalid handshakes, accepting valid variants, and the
  grammar of the key, version, extension and subprotocol fields (RFC 6455 §4, §9.1,
  §10.7);
* :mod:`.limits` -- size limits (§10.4) and rules on frames a limit kept from being
  sent;
* :mod:`.closing` -- failing the connection, close codes sent and received (§5.5.1,
  §7.1.7, §7.4);
* :mod:`.pingpong` -- Ping/Pong and timing (§5.5.2, §5.5.3).

A case that departs from its family's policy says why in its ``notes``.
"""
