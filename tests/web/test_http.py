"""The web page over HTTP (Starlette's test client), on a sandbox started by the test: the key
and cookie, the Host and Origin guards, the upload limit, every page, editing a cell, the
mapping step, the progress stream, cancel, the second-run refusal and the downloads (opened
with openpyxl). Expected rows come from the sample file as its generator wrote them (row 19
'asap', row 61 no due date, row 80 'EMP-00123', row 114 '-5', row 151 an unknown learner)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

import openpyxl
import pytest

from tests.web.conftest import require_web

require_web()

from bulk_enroll.sandbox import SandboxServer, default_directory  # noqa: E402
from bulk_enroll.send.lock import InstanceLock  # noqa: E402
from bulk_enroll.send.progress import ProgressEvent  # noqa: E402
from bulk_enroll.web import checks, routes, views  # noqa: E402
from bulk_enroll.web.security import COOKIE  # noqa: E402
from tests.integration.conftest import point_at  # noqa: E402
from tests.support import forget_account  # noqa: E402
from tests.web.site import HTMX, Site, site  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "new_hires_onboarding.xlsx"
SAMPLE_PROBLEM_ROWS = {19, 61, 80, 114, 151}
DIRECTORY = default_directory()
ACTIVE = [user for user in DIRECTORY.users if user.is_active and user.email == user.email.lower()]
COURSES = {course.title: course for course in DIRECTORY.courses}


@pytest.fixture
def web() -> Site:
    with site() as launched:
        yield launched


def slow_site(monkeypatch: pytest.MonkeyPatch, latency_s: float = 0.25):  # type: ignore[no-untyped-def]
    """A sandbox whose calls take `latency_s`, one at a time, a few learners per call: a send
    of the sample lasts a few seconds."""
    monkeypatch.setenv("BULK_ENROLL_CONCURRENCY", "1")
    monkeypatch.setenv("BULK_ENROLL_MAX_LEARNERS_PER_CALL", "3")
    return site(sandbox_latency_s=latency_s)


def people_csv(path: Path, people: int, *, offset: int = 300) -> Path:
    """Active sandbox users by email, each in Fire Safety, with a due period."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "Course", "due_date_type", "due_period"])
        for user in ACTIVE[offset:offset + people]:
            writer.writerow([user.email, "Fire Safety", "due_period", "720"])
    return path


def sse_events(text: str) -> list[tuple[str, str]]:
    """(event, data) of a server-sent event stream."""
    events = []
    for block in re.split(r"\r?\n\r?\n", text):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((name, "\n".join(data)))
    return events


def settled_counts(events: list[tuple[str, str]]) -> list[tuple[int, int]]:
    """(settled, total) from each progress event's panel."""
    found = []
    for name, data in events:
        if name == "progress":
            match = re.search(r"<strong>([\d,]+)</strong> of ([\d,]+) enrollments settled", data)
            assert match, data
            found.append((int(match[1].replace(",", "")), int(match[2].replace(",", ""))))
    return found


# ---- the key, the cookie and the guards ------------------------------------------------------


def test_without_the_launch_key_nothing_is_served(web: Site) -> None:
    web.client.cookies.clear()
    for path in ("/", "/static/app.css", "/template.xlsx", "/runs/x", "/checks/x"):
        response = web.client.get(path)
        assert response.status_code == 403, path
        assert "Open the link bulk-enroll printed" in response.text
    wrong = web.client.get("/?token=not-the-key")
    assert wrong.status_code == 403
    assert COOKIE not in wrong.headers.get("set-cookie", "")


def test_the_key_is_exchanged_for_a_strict_httponly_cookie(web: Site) -> None:
    web.client.cookies.clear()
    response = web.client.get(f"/?token={web.page.guard.token}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"  # the key leaves the address bar
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and web.page.guard.token not in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    home = web.client.get("/")
    assert home.status_code == 200
    assert '<label for="spreadsheet" class="drop-label">Spreadsheet</label>' in home.text


def test_every_answer_has_the_security_headers(web: Site) -> None:
    for response in (web.client.get("/"), web.client.get("/static/htmx.min.js"),
                     web.client.get("/nowhere")):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_a_foreign_host_header_is_refused(web: Site) -> None:
    """DNS rebinding: a hostile name resolving to 127.0.0.1 reaches the port, not the page."""
    port = web.base.rsplit(":", 1)[1]
    refused = web.client.get("/", headers={"Host": f"attacker.example:{port}"})
    assert refused.status_code == 400
    assert "does not answer to that address" in refused.text
    assert web.client.get("/", headers={"Host": f"localhost:{port}"}).status_code == 200


def test_a_cross_site_post_is_refused(web: Site, tmp_path: Path) -> None:
    body = {"file": ("a.csv", b"learner_id,course_id\n")}
    for headers in ({"Origin": "https://attacker.example"}, {"Origin": "null"},
                    {"Origin": "", "Referer": "https://attacker.example/page"}):
        response = web.client.post("/upload", files=body, headers=headers)
        assert response.status_code == 403, headers
        assert "did not come from the bulk-enroll page" in response.text
    web.client.headers.pop("Origin")
    assert web.client.post("/upload", files=body).status_code == 403  # neither header
    assert not list(web.page.upload_dir.rglob("*.csv"))  # nothing was read, nothing kept
    own = web.client.post("/upload", files=body, headers={"Referer": f"{web.base}/"})
    assert own.status_code != 403


def test_the_upload_limit_is_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULK_ENROLL_MAX_FILE_MB", "1")
    with site() as web:
        big = b"learner_id,course_id\n" + b"x" * (2 * 1024 * 1024)
        response = web.client.post("/upload", headers=HTMX, files={"file": ("big.csv", big)})
        assert response.status_code == 413
        assert "larger than the 1 MB limit" in response.text
        assert not list((web.page.upload_dir / "uploads").rglob("*.csv"))
        home = web.client.get("/")
        assert "up to 1 MB" in home.text


def test_a_disguised_file_is_refused_as_the_cli_refuses_it(web: Site, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["learner_id", "course_id"])
    data = io.BytesIO()
    workbook.save(data)
    response = web.client.post("/upload", headers=HTMX,
                               files={"file": ("hires.csv", data.getvalue())})
    assert response.status_code == 400
    assert "is an Excel workbook (XLSX), not a text (CSV) file" in response.text
    assert "Nothing was sent" in response.text


def test_uploads_are_private(web: Site) -> None:
    web.upload(SAMPLE)
    assert web.page.upload_dir.stat().st_mode & 0o777 == 0o700
    stored = next((web.page.upload_dir / "uploads").rglob("*.xlsx"))
    assert stored.parent.stat().st_mode & 0o777 == 0o700
    assert web.client.get(f"/static/../uploads/{stored.parent.name}/{stored.name}"
                          ).status_code == 404  # never served back


# ---- home, check, edits, mapping -----------------------------------------------------------------


def test_home_shows_the_account_host_and_the_template(web: Site) -> None:
    home = web.client.get("/").text
    account = web.page.setup.account
    assert account is not None and account.client_secret
    assert account.client_secret not in home
    assert f"Enrolls into <strong>{account.api_url}</strong>" in home
    assert "Sandbox: nothing real is touched" in home
    template = web.client.get("/template.xlsx")
    assert template.status_code == 200
    sheets = openpyxl.load_workbook(io.BytesIO(template.content)).sheetnames
    assert sheets[0] == "Enrollments"


def test_the_check_lists_the_samples_problems_and_the_review(web: Site) -> None:
    page = web.client.get(web.upload(SAMPLE)).text
    rows = {int(n) for n in re.findall(r'<tr><td class="num">(\d+)</td>', page)}
    assert rows == SAMPLE_PROBLEM_ROWS
    assert "&#39;asap&#39; is not a due date type" in page
    assert "no user with ID &#39;566ec4aa-1623-5122-b056-f03fbebbf8b1&#39;" in page
    assert 'aria-label="Row 19, due_date_type"' in page  # the editable view
    assert "Start enrolling 36 people in 7 courses</button>" in page
    assert "145 (36 people in 7 courses)" in page  # new enrollments
    assert "6 API calls" in page
    assert "0 by earlier runs (journal), 0 on the server" in page
    assert "at most 500 people and 50 courses in one call" in page  # the safety limits


def test_the_problems_workbook_opens_with_its_needs_attention_sheet(web: Site) -> None:
    check = web.upload(SAMPLE)
    response = web.client.get(f"{check}/problems.xlsx")
    assert response.status_code == 200
    assert "new_hires_onboarding-problems.xlsx" in response.headers["content-disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames[:2] == ["Summary", "Needs attention"]
    header, *rows = list(workbook["Needs attention"].iter_rows(values_only=True))
    assert header[-1] == "Reason (bulk-enroll)"
    assert len(rows) == len(SAMPLE_PROBLEM_ROWS)


def test_an_edited_cell_is_checked_again_at_once(web: Site) -> None:
    check = web.upload(SAMPLE)
    fixed = web.client.post(f"{check}/cells", headers=HTMX,
                            data={"row": "19", "column": "due_date_type", "value": "due_period"})
    assert fixed.status_code == 200
    assert "Row 19 is fixed: it is ready to send." in fixed.text
    assert 'aria-label="Row 19, due_date_type"' not in fixed.text  # no longer a problem row
    assert re.search(r"<td class=\"value\">asap</td><td class=\"value\">due_period</td>",
                     fixed.text)
    still = web.client.post(f"{check}/cells", headers=HTMX,
                            data={"row": "61", "column": "due_date", "value": "2027-02-30"})
    assert "Row 61 still has a problem: due_date: &#39;2027-02-30&#39; is not a date" in still.text
    page = web.client.get(check).text  # the edits hold on the page
    assert '<span class="count">146</span> rows ready to send' in page
    unknown = web.client.post(f"{check}/cells", headers=HTMX,
                              data={"row": "19", "column": "Nope", "value": "x"})
    assert unknown.status_code == 400


def test_a_file_that_needs_a_column_mapping(web: Site, tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Mitarbeiter", "Schulung"])
        writer.writerows([[user.email, "Fire Safety"] for user in ACTIVE[400:403]])
    check = web.upload(source)
    page = web.client.get(check).text
    assert "Tell the page what the columns mean" in page
    assert "no header row with a learner and a course column" in page
    assert '<select id="map-1" name="map:Mitarbeiter">' in page
    chosen = web.client.post(f"{check}/choices", headers=HTMX, data={
        "map:Mitarbeiter": "learner_email", "map:Schulung": "course_title",
        "due_date_type": "unlimited", "remember": "yes"})
    assert chosen.headers["HX-Redirect"] == check
    page = web.client.get(check).text
    assert '<span class="count">3</span> rows ready to send' in page
    assert "Start enrolling 3 people in 1 course</button>" in page
    remembered = json.loads((web.page.history.folder / "aliases.json").read_text())
    assert remembered == {"Mitarbeiter": "learner_email", "Schulung": "course_title"}
    again = web.client.get(web.upload(source)).text  # next time: the columns are known
    assert "no header row" not in again
    # and the page says how it read them (a remembered mapping is never applied unseen)
    assert ("Columns read: A &#39;Mitarbeiter&#39; -&gt; learner_email, B &#39;Schulung&#39; "
            "-&gt; course_title.") in again
    # nor the due date type (a file without one works: the rule is said, not asked)
    assert '<span class="count">3</span> rows ready to send' in again
    assert ("the file has no due_date_type column: a row with a due date gets due_date, one "
            "with a due period due_period, one with neither default") in again
    assert "a due_date_type column in the file chooses another" in again
    assert "--due-date-type" not in again  # the page has no command line
    # a mapping remembered wrongly can be dropped: the next check asks again
    assert "Forget the column mappings chosen on this page" in again
    second = web.upload(source)
    forgot = web.client.post(f"{second}/choices", headers=HTMX, data={"forget": "mappings"})
    assert forgot.headers["HX-Redirect"] == second
    assert not (web.page.history.folder / "aliases.json").exists()
    assert "no header row with a learner and a course column" in web.client.get(second).text
    assert "no header row" in web.client.get(web.upload(source)).text


def test_a_workbook_with_several_sheets_offers_the_choice(web: Site, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "Old"
    first.append(["learner_email", "course_title", "due_date_type"])
    first.append([ACTIVE[500].email, "Fire Safety", "unlimited"])
    second = workbook.create_sheet("New")
    second.append(["learner_email", "course_title", "due_date_type"])
    for user in ACTIVE[501:503]:
        second.append([user.email, "Fire Safety", "unlimited"])
    workbook.save(tmp_path / "two.xlsx")
    check = web.upload(tmp_path / "two.xlsx")
    page = web.client.get(check).text
    assert '<select id="sheet" name="sheet">' in page and "1 rows" not in page
    assert "on the sheet “Old”" in page
    # the library's note says "pass --sheet 'New'"; the page names its own control
    assert "choose &#39;New&#39; under Sheet above" in page and "--sheet" not in page
    web.client.post(f"{check}/choices", headers=HTMX, data={"sheet": "New"})
    assert "on the sheet “New”" in web.client.get(check).text


# ---- runs: progress stream, report, cancel, refusal, history ----------------------------------


def test_a_run_streams_its_progress_and_writes_the_report(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with slow_site(monkeypatch, latency_s=0.1) as web:
        run_url = web.start(web.upload(SAMPLE))
        stream = web.client.get(f"{run_url}/events")
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = sse_events(stream.text)
        assert events[-1] == ("done", run_url.rsplit("/", 1)[-1])
        progress = settled_counts(events)
        assert progress[-1] == (145, 145)
        stages = [data for name, data in events if name == "stage"]  # said once each, in order
        assert stages[-1] == "Finished: the report is written" and "Sending" in stages
        assert len(stages) == len(set(stages)) < len(progress) / 2
        assert [settled for settled, _ in progress] == sorted(s for s, _ in progress)
        assert any(0 < settled < 145 for settled, _ in progress)  # it moved, not just 0 then all
        result = web.client.get(run_url).text
        assert "145 enrolled, 5 need attention" in result
        assert "Download report</a>" in result
        report = web.client.get(f"{run_url}/report.xlsx")
        assert report.status_code == 200
        results = openpyxl.load_workbook(io.BytesIO(report.content))["Results"]
        header, *rows = list(results.iter_rows(values_only=True))
        statuses = [row[header.index("Status")] for row in rows]
        assert statuses.count("enrolled") == 145 and statuses.count("invalid") == 5


def test_reopening_a_finished_run_replays_its_state(web: Site) -> None:
    run_url = web.start(web.upload(SAMPLE))
    web.wait(run_url)
    events = sse_events(web.client.get(f"{run_url}/events").text)
    assert [name for name, _ in events] == ["progress", "stage", "done"]  # the state, at once
    assert events[1][1] == "Finished: the report is written"
    assert settled_counts(events) == [(145, 145)]
    assert "the report is written" in events[0][1]
    finished = web.client.get(f"{run_url}/finished", headers=HTMX)  # what "done" asks for
    assert finished.headers["HX-Redirect"] == run_url


def test_unknown_checks_and_runs_are_404(web: Site) -> None:
    for path in ("/checks/nope", "/checks/nope/problems.xlsx", "/runs/nope",
                 "/runs/nope/events", "/runs/nope/report.xlsx", "/history/nope/report.xlsx"):
        response = web.client.get(path)
        assert response.status_code == 404, path
    assert web.client.post("/checks/nope/start", headers=HTMX).status_code == 404
    assert web.client.post("/runs/nope/cancel", headers=HTMX).status_code == 404


def test_fixed_rows_are_sent_alone(web: Site) -> None:
    run_url = web.start(web.upload(SAMPLE))
    web.wait(run_url)
    result = web.client.get(run_url).text
    followup = re.search(r'hx-post="(/checks/[^/"]+)/cells"', result)
    assert followup, "the result offers the rows needing attention to fix"
    check = followup[1]
    web.client.post(f"{check}/cells", headers=HTMX,
                    data={"row": "61", "column": "due_date", "value": "2027-03-31"})
    page = web.client.get(run_url).text
    assert "Start enrolling 1 person in 1 course</button>" in page
    second = web.start(check)
    run = web.wait(second)
    assert run.result is not None and run.result.counts["enrolled"] == 1
    report = openpyxl.load_workbook(run.result.report_path)["Results"]
    header, *rows = list(report.iter_rows(values_only=True))
    assert len(rows) == len(SAMPLE_PROBLEM_ROWS)  # only the rows needing attention were read
    assert [row[header.index("Status")] for row in rows].count("enrolled") == 1


def test_cancel_stops_cleanly_and_the_report_says_what_was_done(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with slow_site(monkeypatch) as web:
        run_url = web.start(web.upload(SAMPLE))
        run = web.run(run_url)
        deadline = time.monotonic() + 30
        while not (run.event and run.event.calls_made >= 2):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        cancelled = web.client.post(f"{run_url}/cancel", headers=HTMX)
        assert "cancelling" in cancelled.text
        web.wait(run_url)
        assert run.result is not None
        counts = run.result.counts
        assert counts["enrolled"] > 0 and counts["not_sent"] > 0
        assert counts["enrolled"] + counts["not_sent"] == 145
        page = web.client.get(run_url).text
        assert "Cancelled on the page" in page
        results = openpyxl.load_workbook(run.result.report_path)["Results"]
        header, *rows = list(results.iter_rows(values_only=True))
        messages = [row[header.index("Message")] for row in rows
                    if row[header.index("Status")] == "not_sent"]
        assert messages and all("cancelled on the page" in m for m in messages)


def test_after_a_cancel_the_panel_says_how_many_were_enrolled_not_only_settled() -> None:
    # a cancel settles the unsent pairs as not_sent: "400 of 400 settled" alone reads as done
    cancelled = ProgressEvent(stage="done", pairs_total=400, pairs_settled=400, not_enrolled=230)
    facts = views.progress_facts(cancelled)
    assert (facts["enrolled"], facts["not_enrolled"], facts["percent"]) == (170, 230, 100)
    template = (Path(views.__file__).parent / "templates" / "_progress.html").read_text()
    assert "Enrolled so far" in template and "f.enrolled" in template


def test_a_second_run_on_the_same_journal_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    with slow_site(monkeypatch) as web:
        other = web.upload(people_csv(tmp_path / "more.csv", 3))  # checked before the start
        first = web.start(web.upload(SAMPLE))
        refused = web.client.post(f"{other}/start", headers=HTMX)
        assert refused.status_code == 409
        assert "A run is already sending with this journal" in refused.text
        web.client.post(f"{first}/cancel", headers=HTMX)
        web.wait(first)
        assert web.client.post(f"{other}/start", headers=HTMX).status_code == 200


def test_a_run_another_process_holds_the_journal_for_is_refused(web: Site) -> None:
    with InstanceLock(web.page.journal_dir / "send.lock", "run using this journal"):
        check = web.upload(SAMPLE)
        assert "another bulk-enroll run using this journal is running" in web.client.get(
            check).text
        refused = web.client.post(f"{check}/start", headers=HTMX)
        assert refused.status_code == 409
        assert "Another bulk-enroll run using this journal is running" in refused.text


def test_past_runs_survive_a_restart(monkeypatch: pytest.MonkeyPatch,
                                     isolated_state_dir: Path) -> None:
    with site() as web:
        run_url = web.start(web.upload(SAMPLE))
        web.wait(run_url)
    with site() as again:
        home = again.client.get("/").text
        assert "new_hires_onboarding.xlsx" in home and "145 enrolled, 5 need attention" in home
        link = re.search(r'href="(/history/[^"]+/report.xlsx)"', home)
        assert link
        report = again.client.get(link[1])
        assert report.status_code == 200
        assert "Results" in openpyxl.load_workbook(io.BytesIO(report.content)).sheetnames


# ---- without an account, with a password, the command -----------------------------------------


def test_without_an_account_every_run_is_a_dry_run(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_account(monkeypatch)
    with site(sandbox=False) as web:
        home = web.client.get("/").text
        assert "Dry run: no account configured" in home
        check = web.upload(SAMPLE)
        assert "(dry run: nothing is sent)</button>" in web.client.get(check).text
        run = web.wait(web.start(check))
        assert run.result is not None and run.result.counts["enrolled"] == 0
        result = web.client.get(f"/runs/{run.id}").text
        assert "A dry run: nothing was sent" in result
        # its rows ready are not 'needing attention' ('send again to finish' would not)
        assert "Rows needing attention (4)" in result and "send again to finish" not in result
        assert "ready: a live run would send it" in result


def test_the_sandbox_page_sends_over_rest_when_configured(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULK_ENROLL_TRANSPORT", "rest")
    with site() as web:
        assert web.page.setup.account is not None
        assert web.page.setup.account.transport == "rest"
        run = web.wait(web.start(web.upload(SAMPLE)))
        assert run.result is not None and run.result.counts["enrolled"] == 145
        assert run.result.summary["api_calls"] == 6
        facts = openpyxl.load_workbook(run.result.report_path)["Summary"]
        assert any(row[1] == "rest" for row in facts.iter_rows(values_only=True)
                   if len(row) > 1)


# ---- what the review found: errors said for what they are, choices that stay open ---------------


def test_an_account_that_cannot_be_reached_is_not_taken_for_a_file_needing_a_mapping(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The lookups fail (connection refused): the page says the account could not be reached
    and offers to check again, instead of asking what the file's columns mean."""
    with SandboxServer().start() as gone:
        point_at(gone, monkeypatch)
    monkeypatch.setenv("BULK_ENROLL_MAX_ATTEMPTS", "1")
    with site(sandbox=False) as web:
        check = web.upload(SAMPLE)
        page = web.client.get(check).text
        assert "could not be looked up in" in page and "Your file was not the problem" in page
        assert "Tell the page what the columns mean" not in page
        assert "needs your help" not in page
        assert "Check again</button>" in page


def test_an_unexpected_error_is_a_short_page_never_a_traceback(
        web: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail /srv/secret-path")

    monkeypatch.setattr(checks, "preview", broken)
    page = web.client.get(web.upload(SAMPLE)).text
    assert "An unexpected error stopped the check (details in the log)" in page
    assert "secret-path" not in page and "RuntimeError" not in page
    monkeypatch.setattr(routes, "write_template", broken)  # a route that lets it through
    for headers in ({}, HTMX):
        answer = web.client.get("/template.xlsx", headers=headers)
        assert answer.status_code == 500
        assert "Something went wrong on the page's side" in answer.text
        assert "secret-path" not in answer.text and "Traceback" not in answer.text
        assert answer.headers["x-frame-options"] == "DENY"  # inside the guards


def test_a_garbled_upload_is_refused_with_a_message(web: Site) -> None:
    answer = web.client.post("/upload", content=b"not multipart at all", headers={
        **HTMX, "Content-Type": "multipart/form-data; boundary=zzz"})
    assert answer.status_code == 400
    assert "cut off or garbled" in answer.text


def test_a_chosen_date_order_can_be_changed_again(web: Site, tmp_path: Path) -> None:
    """Once a date order settles the dates, the choice stays on the page (it was gone: a wrong
    pick could only be undone by uploading the file again)."""
    source = tmp_path / "dates.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "Course", "due_date_type", "due_date"])
        writer.writerows([[user.email, "Fire Safety", "due_date", "03/04/2027"]
                          for user in ACTIVE[700:702]])
    check = web.upload(source)
    asked = web.client.get(check).text
    assert '<select id="date_order" name="date_order">' in asked
    assert "choose the date order above, or write it as YYYY-MM-DD" in asked  # not the CLI's
    assert "--date-order" not in asked
    web.client.post(f"{check}/choices", headers=HTMX, data={"date_order": "dmy"})
    page = web.client.get(check).text
    assert '<span class="count">2</span> rows ready to send' in page
    assert '<option value="dmy" selected>' in page
    web.client.post(f"{check}/choices", headers=HTMX, data={"date_order": "mdy"})
    assert '<option value="mdy" selected>' in web.client.get(check).text
    check_id = check.rsplit("/", 1)[-1]
    assert web.app.state.checks.get(check_id).choices.date_order == "mdy"


def test_a_workbook_with_several_sheets_says_only_one_is_read(web: Site, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Sales"
    workbook.active.append(["learner_email", "course_title"])
    workbook.active.append([ACTIVE[710].email, "Fire Safety"])
    workbook.create_sheet("Support").append(["learner_email", "course_title"])
    workbook["Support"].append([ACTIVE[711].email, "Fire Safety"])
    workbook.save(tmp_path / "teams.xlsx")
    page = web.client.get(web.upload(tmp_path / "teams.xlsx")).text
    assert "The workbook has 2 sheets and only this one is read" in page


def test_a_refused_edit_keeps_the_check_on_the_page(web: Site) -> None:
    """htmx swaps a 400 into the check's place: it must be the check with the reason, not a
    bare sentence that replaces the whole table (a long paste did that)."""
    check = web.upload(SAMPLE)
    for data, reason in (({"row": "19", "column": "due_date_type", "value": "x" * 2001},
                          "a cell takes at most 2,000 here"),
                         ({"row": "19", "column": "Nope", "value": "x"},
                          "The file has no column &#39;Nope&#39;")):
        refused = web.client.post(f"{check}/cells", headers=HTMX, data=data)
        assert refused.status_code == 400
        assert reason in refused.text and 'role="alert"' in refused.text
        assert refused.text.lstrip().startswith('<div id="check-body"')
        assert "Start enrolling 36 people in 7 courses</button>" in refused.text


def test_a_check_opened_again_after_its_run_offers_only_what_is_left(web: Site) -> None:
    """Back to the check page after sending: it offered 'Start enrolling 36 people in 7
    courses' again, from before the run (the journal kept them from being sent twice, but the
    page said otherwise)."""
    check = web.upload(SAMPLE)
    assert "Start enrolling 36 people in 7 courses</button>" in web.client.get(check).text
    web.wait(web.start(check))
    again = web.client.get(check).text
    assert "Start enrolling: nothing new to send</button>" in again
    assert "Start enrolling 36 people" not in again


def test_the_mapping_offers_the_table_header_below_a_title(web: Site, tmp_path: Path) -> None:
    """A title above unknown headers: the mapping starts at the header row, not the title
    (the person had to find 'The column names are in row' and change it first)."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["HRIS export 2027-01"])
    workbook.active.append(["Personal no.", "Mailbox", "Training"])
    workbook.active.append([1000, ACTIVE[720].email, "Fire Safety"])
    workbook.save(tmp_path / "titled.xlsx")
    page = web.client.get(web.upload(tmp_path / "titled.xlsx")).text
    assert '<option value="2" selected>' in page
    assert "What each column of row 2 holds" in page
    assert '<select id="map-2" name="map:Mailbox">' in page


def test_an_edit_shows_that_the_file_is_being_checked_again(web: Site) -> None:
    """On a large file a recheck takes seconds: each cell's form names a status line that
    htmx shows while it runs (nothing moved on the page before)."""
    page = web.client.get(web.upload(SAMPLE)).text
    indicator = re.search(r'<p id="(rechecking-[\w-]+)" class="indicator" role="status">', page)
    assert indicator is not None
    forms = re.findall(r'<form hx-post="/checks/[\w-]+/cells"[^>]*>', page)
    assert len(forms) == 5 * 4  # 5 rows with problems x 4 problem columns
    assert all(f'hx-indicator="#{indicator[1]}"' in form for form in forms)


def test_not_used_in_the_mapping_drops_a_column(web: Site, tmp_path: Path) -> None:
    """Two columns both read as the learner's email: the page asks, and 'not used' on one of
    them settles it (it was ignored, so the same question came back for ever)."""
    source = tmp_path / "two-emails.csv"
    source.write_text(f"Email,Employee email,Course\n{ACTIVE[730].email},{ACTIVE[731].email},"
                      "Fire Safety\n", encoding="utf-8")
    check = web.upload(source)
    assert "both give learner_email" in web.client.get(check).text
    web.client.post(f"{check}/choices", headers=HTMX, data={
        "map:Email": "learner_email", "map:Employee email": "ignore",
        "map:Course": "course_title"})
    page = web.client.get(check).text
    assert "both give learner_email" not in page
    assert "Start enrolling 1 person in 1 course</button>" in page
    check_id = check.rsplit("/", 1)[-1]
    outcome = web.app.state.checks.get(check_id).result.outcomes()[0]
    assert outcome.values["Email"] == ACTIVE[730].email  # the column kept is the one read


def test_rows_hidden_in_the_sheet_are_not_counted_ready_to_send(web: Site,
                                                               tmp_path: Path) -> None:
    """A row hidden by hand or by a filter is not sent (as by the CLI); the page counted it
    'ready to send' and never said it was left out."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["learner_email", "course_title", "due_date_type"])
    for user in ACTIVE[740:743]:
        workbook.active.append([user.email, "Fire Safety", "unlimited"])
    workbook.active.row_dimensions[3].hidden = True
    workbook.save(tmp_path / "filtered.xlsx")
    page = web.client.get(web.upload(tmp_path / "filtered.xlsx")).text
    assert '<span class="count">2</span> rows ready to send' in page
    assert '<span class="count">1</span> hidden in the sheet: not sent' in page
    assert "0 duplicates (sent once), 1 hidden in the sheet</dd>" in page
    assert "Start enrolling 2 people in 1 course</button>" in page
