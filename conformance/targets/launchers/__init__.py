"""Launchers of the third-party Python echo servers the suite runs against (one module each).

Each is ``python -m conformance.targets.launchers.NAME --port {port} [--cert {cert} --key {key}]``;
:mod:`conformance.targets.table` names them. They import their server library, so only
the ones whose library is installed can start.
"""
