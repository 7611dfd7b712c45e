"""The national picture (design §4, ``report``): computed as plain data, then rendered.

- :mod:`onderwijsflow.reporting.national`: ``national_report(app)`` reads the whole network
  in a constant number of queries and returns a JSON-safe ``dict``;
- :mod:`onderwijsflow.reporting.render`: ``render(report, fmt)`` turns that ``dict`` into a
  text table, Markdown, CSV, JSON or a self-contained HTML page, in the reader's language;
- :mod:`onderwijsflow.reporting.export`: the report for spreadsheets, one table per CSV file
  (``excel-nl`` or ``excel`` dialect, formulas neutralised) or one sheet per table in .xlsx.

Example::

    from onderwijsflow.definition.durations import Duration
    from onderwijsflow.reporting.export import to_xlsx
    from onderwijsflow.reporting.national import national_report
    from onderwijsflow.reporting.render import render

    report = national_report(app, within=Duration.parse("P4W"))
    html = render(report, "html")
    workbook = to_xlsx(report)

Nothing is imported here, so importing the package costs nothing.
"""
