"""The scenario server: the loopback server each client scenario connects to
(RFC 6455 §4.2.2 answers, scripted frames), with what it records of every connection."""
