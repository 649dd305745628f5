"""The local web page for HR (`bulk-enroll web`, needs the `web` extra): drop a spreadsheet,
fix it in place, review the plan, start, watch the progress, download the report.

A thin layer on the Python API (`bulk_enroll.api`): `server` starts it, `app` builds the
Starlette app, `security` guards it, `checks` and `runs` hold what a person is doing,
`history` what the page remembers across restarts.
"""
