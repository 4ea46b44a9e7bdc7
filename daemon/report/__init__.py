"""Reports: the monthly complaint report, the management-review summary, the complaint form.

Each report is first a value computed from the database (`monthly`, `review`,
`form`); the output modules render those values and count nothing themselves:
`csv_out`, `xlsx_out` (native spreadsheet charts), `html_out` (one
self-contained page with inline SVG charts) and `pdf` (the same page printed by
headless Chromium). `mailing` sends the monthly report by mail and reminds
departments to record their results first.
"""
