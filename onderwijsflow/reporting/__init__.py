"""The national picture (design §4, ``report``): computed as plain data, then rendered.

- :mod:`onderwijsflow.reporting.national`: ``national_report(app)`` reads the whole network
  in a constant number of queries and returns a JSON-safe ``dict``;
- :mod:`onderwijsflow.reporting.render`: ``render(report, fmt)`` turns that ``dict`` into a
  text table, Markdown, CSV, JSON or a self-contained HTML page.

Example::

    from onderwijsflow.reporting.national import national_report
    from onderwijsflow.reporting.render import render

    html = render(national_report(app, weeks=4), "html")

Nothing is imported here, so importing the package costs nothing.
"""
