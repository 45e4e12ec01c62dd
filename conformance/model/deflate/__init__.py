"""permessage-deflate (RFC 7692) as sans-IO data and functions.

* :mod:`.requirements`: the RFC 7692 requirement ids the violations here name.
* :mod:`.params`: what a 101 agreed (:class:`~.params.Agreed`) and the window and context
  rule each direction obeys (:class:`~.params.WindowRule`), RFC 7692 §7.1.
* :mod:`.elements`: ``Sec-WebSocket-Extensions`` on RFC 6455 §9.1's grammar.
* :mod:`.offers`: the offers the suite sends, valid and deliberately broken (§7, §7.1).
* :mod:`.negotiation`: the suite's reading of a server's response (§5, §7, §7.1).
* :mod:`.compressor`: the suite's own compressed messages (§7.2.1), honouring the agreed
  client window; :mod:`.examples`: the §7.2.3 example payloads.
* :mod:`.probes`: payloads whose matches lie beyond a window, to catch a server ignoring it.
* :mod:`.inflater`: the strict inflater for the server's messages (§7.2.2) that enforces the
  agreed server window and context rule, and the RSV1 checks (§6.1).

zlib (standard library) does every DEFLATE step; nothing here inflates by hand.
"""
