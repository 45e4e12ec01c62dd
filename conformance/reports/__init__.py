"""Renderings of a :class:`~conformance.results.RunReport`.

* :mod:`.terminal`: h2spec-style failure blocks and a summary, optionally in colour.
* :mod:`.json_report`: the machine-readable contract other tools read (and read back).
* :mod:`.junit`: JUnit XML for CI test dashboards.
* :mod:`.markdown`: the whole run, or one case ready to paste into a bug tracker.
* :mod:`.html`: one self-contained page (inline CSS and SVG, no scripts, no assets).

:mod:`.evidence` holds what they share: hex dumps, requirement look-up, ordering and
the sanitising of peer-controlled text.
"""
