"""The read-only web view (``onderwijsflow serve``): the national board, the regions and each
region's dossier, calendar feeds and a JSON API, over the public library API.

Layout of the package, one concept per module:

- :mod:`~onderwijsflow.web.access`: who is looking (the trusted-proxy header rules), where the
  server may bind, and the page-view log. No web framework needed.
- :mod:`~onderwijsflow.web.diagram`: a workflow as an inline SVG diagram.
- :mod:`~onderwijsflow.web.dossier`: what a region's dossier shows, gathered from the library,
  and the dossier as one self-contained file (HTML, or PDF through headless Chromium).
- :mod:`~onderwijsflow.web.render`: the Jinja2 templates with the gettext texts installed.
- :mod:`~onderwijsflow.web.app`: the Starlette application (GET and HEAD only).
- :mod:`~onderwijsflow.web.server`: running it under uvicorn.
- :mod:`~onderwijsflow.web.speed`: the measurement of design §7's web targets.

Importing this package imports nothing heavy; Starlette and uvicorn load with
:mod:`~onderwijsflow.web.app` and :mod:`~onderwijsflow.web.server` (the ``web`` extra).
"""

from __future__ import annotations

__all__: list[str] = []
