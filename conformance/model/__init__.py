"""Sans-IO core: bytes and events in, verdicts out.

Nothing in this package opens a socket, awaits, or imports pytest. The I/O driver
(:mod:`conformance.driver`) feeds it bytes; the cases turn its observations into
verdicts.

Theory of operation
-------------------
* :mod:`.frames` holds any frame, legal or not, as data; :mod:`.codec` writes it
  exactly as described, and :mod:`.decoder` decodes a
  peer's bytes incrementally, reporting each rule the peer broke as a
  :class:`~.violations.Violation` that names the requirement id in ``spec_refs/``.
* :mod:`.utf8` validates text incrementally, so fail-fast positions are known.
* :mod:`.handshake` builds valid and deliberately broken opening handshakes and
  checks a server's answer on h11.
* :mod:`.observed` holds what a case observed (:class:`~.observed.Observed`),
  :mod:`.behaviours` the *set* of behaviours the spec accepts
  (:class:`~.behaviours.Expectation`), :mod:`.verdict` the verdict: a case passes
  only when one acceptable behaviour was actually observed. :mod:`.payloads`
  generates the deterministic payloads whose echoes are compared.
"""
