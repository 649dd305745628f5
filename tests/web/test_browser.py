"""The page in real headless Chromium (Debian's package, driven by Playwright), against a real
`bulk-enroll web --sandbox` server on 127.0.0.1 that the module starts, with sandbox latency
so that a send lasts a few seconds.

(a) the whole flow on the sample file, (b) fixing cells in place and sending only the fixed
rows, (c) a file that needs a column mapping, (d) reloading and reopening during a send,
(e) cancel. Each test uses people of its own, so they share one server (and its journal).

The screenshots of the check, sending and result screens are taken by (a); with
BULK_ENROLL_SCREENSHOTS=docs/screenshots they are written there for the README.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from tests.web.conftest import require, require_web

require_web()
require(importlib.util.find_spec("playwright") is not None,
        "Playwright for Python is not installed: pip install -e '.[web,test]'")
require(shutil.which("chromium") is not None,
        "no Chromium: apt-get install chromium fonts-liberation (Playwright's own browser "
        "download is never used)")

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from bulk_enroll.sandbox import default_directory  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "new_hires_onboarding.xlsx"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
LATENCY_S = "0.25"  # each sandbox call: the sample's send lasts a few seconds
DIRECTORY = default_directory()
ACTIVE = [user for user in DIRECTORY.users if user.is_active and user.email == user.email.lower()]
START = re.compile(r"^Start enrolling")
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)  # a send takes seconds: wait for it, not 5 s


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`bulk-enroll web --sandbox` in a process of its own; yields the link it printed."""
    home = tmp_path_factory.mktemp("web-server")
    env = {**os.environ, "BULK_ENROLL_STATE_DIR": str(home / "state"),
           "XDG_CONFIG_HOME": str(home / "config"), "BULK_ENROLL_CONCURRENCY": "1",
           "BULK_ENROLL_MAX_LEARNERS_PER_CALL": "3", "PYTHONUNBUFFERED": "1"}
    env.pop("BULK_ENROLL_CONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bulk_enroll.cli", "web", "--sandbox", "--no-browser",
         "--port", "0", "--sandbox-latency", LATENCY_S],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=home)
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "http://127.0.0.1:" in line:
                found.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert found.wait(30), f"the server printed no link: {''.join(lines)}"
        link = next(line.strip() for line in lines if "http://127.0.0.1:" in line)
        yield link
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    assert process.returncode in (0, -15), "".join(lines)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                              args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    opened = context.new_page()
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: message.type == "error" and "violates" in message.text
              and errors.append(message.text))  # a CSP violation is a bug
    opened.goto(server)
    yield opened
    context.close()
    assert errors == []


def screenshots(tmp_path: Path) -> Path:
    wanted = os.environ.get("BULK_ENROLL_SCREENSHOTS")
    folder = (ROOT / wanted) if wanted else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def people_file(path: Path, offset: int, count: int, *, bad: dict[int, str] | None = None,
                header: tuple[str, ...] = ("Email", "Course", "due_date_type", "due_period")
                ) -> Path:
    """Active sandbox users in Fire Safety; `bad` replaces the due date type of some rows
    (by position) with a wrong value."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for n, user in enumerate(ACTIVE[offset:offset + count]):
            writer.writerow([user.email, "Fire Safety", (bad or {}).get(n, "due_period"), "720"])
    return path


def drop(page: Page, path: Path) -> None:
    page.get_by_label("Spreadsheet", exact=True).set_input_files(path)
    page.wait_for_url(re.compile(r"/checks/"))


PANEL = "() => document.querySelector('.progress-panel .big')?.textContent ?? null"


def settled(page: Page) -> tuple[int, int] | None:
    """(settled, total) as the sending screen shows them now; None when it is not shown.
    Read without waiting: the page may be navigating to the result."""
    try:
        text = page.evaluate(PANEL)
    except Exception:  # the page is navigating: its context went away
        return None
    match = re.search(r"([\d,]+) of ([\d,]+) enrollments settled", text or "")
    return (int(match[1].replace(",", "")), int(match[2].replace(",", ""))) if match else None


def wait_until_sending(page: Page) -> tuple[int, int]:
    """Wait until some enrollments are settled and more are still to come."""
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = settled(page)
        if now is not None:
            seen.append((round(time.monotonic(), 2), now))
            if 0 < now[0] < now[1]:
                return now
        time.sleep(0.03)
    raise AssertionError(f"the progress never moved: {page.url}: {seen[-20:]}")


def report_statuses(path: Path) -> list[str]:
    header, *rows = list(openpyxl.load_workbook(path)["Results"].iter_rows(values_only=True))
    return [row[header.index("Status")] for row in rows]


def download_report(page: Page, tmp_path: Path) -> Path:
    with page.expect_download() as download:
        page.get_by_role("link", name="Download report").click()
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    return target


def test_a_whole_flow_on_the_sample(page: Page, tmp_path: Path) -> None:
    shots = screenshots(tmp_path)
    expect(page.get_by_role("heading", name="Enroll learners from a spreadsheet")).to_be_visible()
    drop(page, SAMPLE)
    problems = page.locator("table.problems")
    for row, message in ((19, "'asap' is not a due date type"), (61, "due date is required"),
                         (80, "'EMP-00123' is not an ID"), (114, "'-5' is not a whole"),
                         (151, "no user with ID")):
        expect(problems.get_by_role("row").filter(has_text=message)).to_contain_text(str(row))
    start = page.get_by_role("button", name=START)
    expect(start).to_have_text("Start enrolling 36 people in 7 courses")
    page.screenshot(path=shots / "check.png", full_page=True)
    start.click()
    page.wait_for_url(re.compile(r"/runs/"))
    first, total = wait_until_sending(page)
    assert total == 145
    page.screenshot(path=shots / "sending.png", full_page=True)
    later = first
    deadline = time.monotonic() + 30
    while later == first and time.monotonic() < deadline:
        now = settled(page)
        later = now[0] if now else later + 1  # gone: the result page replaced it
        time.sleep(0.03)
    assert later > first  # the progress moved on its own (server-sent events)
    expect(page.get_by_role("link", name="Download report")).to_be_visible()
    expect(page.locator(".verdict")).to_have_text("145 enrolled, 5 need attention")
    page.screenshot(path=shots / "result.png", full_page=True)
    statuses = report_statuses(download_report(page, tmp_path))
    assert statuses.count("enrolled") == 145 and statuses.count("invalid") == 5
    for name in ("check.png", "sending.png", "result.png"):
        assert (shots / name).read_bytes().startswith(b"\x89PNG")


def fix(page: Page, row: int, column: str, value: str) -> None:
    """Correct a problem cell in place; the page says the row is fixed."""
    cell = page.get_by_label(f"Row {row}, {column}")
    expect(cell).to_have_attribute("aria-invalid", "true")
    cell.fill(value)
    cell.press("Enter")
    expect(page.get_by_role("status").filter(has_text=f"Row {row} is fixed")).to_be_visible()


def test_fix_cells_in_place_then_send_only_the_fixed_rows(page: Page, tmp_path: Path) -> None:
    source = people_file(tmp_path / "team.csv", 600, 6, bad={1: "asap", 4: "soon"})
    drop(page, source)
    fix(page, 3, "due_date_type", "due_period")  # row 3 of the sheet: the 2nd person
    start = page.get_by_role("button", name=START)
    expect(start).to_have_text("Start enrolling 5 people in 1 course")
    start.click()
    expect(page.locator(".verdict")).to_have_text("5 enrolled, 1 need attention")
    fix(page, 6, "due_date_type", "due_period")  # on the result page
    again = page.get_by_role("button", name=START)
    expect(again).to_have_text("Start enrolling 1 person in 1 course")
    again.click()
    page.wait_for_url(re.compile(r"/runs/"))
    expect(page.locator(".verdict")).to_have_text("1 enrolled, all rows settled")
    assert report_statuses(download_report(page, tmp_path)) == ["enrolled"]  # only row 6


def test_a_file_that_needs_a_column_mapping(page: Page, tmp_path: Path) -> None:
    disguised = tmp_path / "export.xlsx"
    disguised.write_text("Mitarbeiter,Schulung\n", encoding="utf-8")
    page.get_by_label("Spreadsheet", exact=True).set_input_files(disguised)
    expect(page.get_by_role("alert")).to_contain_text(
        "export.xlsx is a text file, not an Excel workbook (XLSX)")  # refused as by the CLI
    source = people_file(tmp_path / "export.csv", 650, 3,
                         header=("Mitarbeiter", "Schulung", "Fristart", "Stunden"))
    drop(page, source)
    expect(page.get_by_role("heading", name="Tell the page what the columns mean")).to_be_visible()
    page.get_by_label("Mitarbeiter").select_option("learner_email")
    page.get_by_label("Schulung").select_option("course_title")
    page.get_by_label("Fristart").select_option("due_date_type")
    page.get_by_label("Stunden").select_option("due_period")
    page.get_by_role("button", name="Check with this mapping").click()
    expect(page.get_by_role("button", name=START)).to_have_text(
        "Start enrolling 3 people in 1 course")
    expect(page.locator(".counts")).to_contain_text("3 rows ready to send")


def test_reload_and_reopen_during_a_send(page: Page, tmp_path: Path) -> None:
    drop(page, people_file(tmp_path / "big.csv", 700, 45))
    page.get_by_role("button", name=START).click()
    before, total = wait_until_sending(page)
    run_url = page.url
    page.reload()  # the state comes back at once, then live again
    after = settled(page)
    assert after is None or after[0] >= before  # (None: it finished meanwhile)
    page.close()  # closing the tab does not stop the run
    reopened = page.context.new_page()
    reopened.goto(run_url)
    expect(reopened.locator(".verdict")).to_have_text(f"{total} enrolled, all rows settled",
                                                      timeout=TIMEOUT_MS)


def test_cancel_stops_cleanly(page: Page, tmp_path: Path) -> None:
    drop(page, people_file(tmp_path / "cancel.csv", 800, 60))  # 20 calls: time to cancel
    page.get_by_role("button", name=START).click()
    wait_until_sending(page)
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("p.notice").filter(has_text="Cancelled on the page")).to_be_visible()
    verdict = page.locator(".verdict").inner_text()
    enrolled = int(re.match(r"(\d+) enrolled", verdict)[1])  # type: ignore[index]
    assert 0 < enrolled < 60
    statuses = report_statuses(download_report(page, tmp_path))
    assert statuses.count("enrolled") == enrolled
    assert statuses.count("not_sent") == 60 - enrolled


def focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement.getAttribute('aria-label') || "
                             "document.activeElement.tagName + ' ' + "
                             "document.activeElement.textContent"))


def test_keyboard_focus_follows_each_step_and_a_narrow_window_does_not_scroll_sideways(
        page: Page, tmp_path: Path) -> None:
    """Each step's page starts at its heading; a fixed row leaves the table, so the keyboard
    goes on at the next row's first cell, then at Start (it fell to the page's body). At 320
    px (400% zoom) only the wide editing table scrolls, inside its own box."""
    page.set_viewport_size({"width": 320, "height": 800})
    drop(page, people_file(tmp_path / "keys.csv", 900, 4, bad={0: "asap", 2: "soon"}))
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth <= "
                         "document.documentElement.clientWidth")
    cell = page.get_by_label("Row 2, due_date_type")
    cell.fill("due_period")
    cell.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Row 2 is fixed")).to_be_visible()
    expect(page.get_by_label("Row 4, due_date_type")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("due_period")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Row 4 is fixed")).to_be_visible()
    start = page.get_by_role("button", name=START)
    expect(start).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".verdict")).to_have_text("4 enrolled, all rows settled")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth <= "
                         "document.documentElement.clientWidth"), focused(page)
