"""Transports beside :mod:`conformance.driver`: other ways to carry a WebSocket's bytes.

A transport hands the session layer an object with the interface of
:class:`~conformance.driver.Connection` (send, receive, half-close, close, the end of the
stream and the transcript of the WebSocket bytes), so the cases run unchanged.
:mod:`.h2` carries one WebSocket on one HTTP/2 stream (RFC 8441); :mod:`.scope` says
which cases can run over it.
"""
