"""One far-off cell must not cost the process (issue 12, item 6): python-calamine holds a sheet
as one dense block, so a 5 KB file with a value at XFD1048576 asked for 512 GiB (SIGABRT), and
one at Z1048576 or XFD2000 for about 1 GB. Each file is read by a real `bulk-enroll validate`
process whose peak memory (`RUSAGE_CHILDREN` of a small wrapper process) must stay under 200 MB:
an XLSX with stray cells is read without them (with a note naming them), XLS and ODS files
that cannot be read around them are refused naming the cell; in the inbox such a file goes to
`archive/failed/` with its reason and the other files are processed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from bulk_enroll.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SandboxServer
from bulk_enroll.sandbox.directory import default_directory
from tests.integration.test_libreoffice_inputs import _convert
from tests.support import sheet_rows, write_csv

DIRECTORY = default_directory()
ACTIVE = [u.user_id for u in DIRECTORY.users if u.is_active]
COURSE = DIRECTORY.courses[0].content_id
MAX_RSS_MB = 200
MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{done.returncode} {peak:.0f}")
sys.stderr.write(done.stdout + done.stderr)
"""


def export(path: Path, stray: str | None = None) -> Path:
    """A good 3-row export, with one value far outside it when `stray` names a cell."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["learner_id", "course_id", "due_date_type"])
    for learner in ACTIVE[:3]:
        sheet.append([learner, COURSE, "unlimited"])
    if stray:
        sheet[stray] = "leftover"
    book.save(path)
    return path


def rewrite_sheet(source: Path, target: Path, change) -> Path:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename in ("xl/worksheets/sheet1.xml", "content.xml"):
                data = change(data)
            new.writestr(item, data)
    return target


def validate_measured(path: Path) -> tuple[int, float, str]:
    """Exit code, peak memory in MB and output of `bulk-enroll validate PATH`."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "-m", "bulk_enroll.cli", "validate",
         str(path), "--report", str(path.with_suffix(".report.xlsx"))],
        capture_output=True, text=True, timeout=300, cwd=path.parent)
    code, peak = done.stdout.split()
    return int(code), float(peak), done.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("far")
    made = {name: export(folder / f"{name}.xlsx", stray)
            for name, stray in (("xfd1048576", "XFD1048576"), ("z1048576", "Z1048576"),
                                ("xfd2000", "XFD2000"), ("iv65536", "IV65536"))}
    made["dimension"] = rewrite_sheet(export(folder / "plain.xlsx"), folder / "dimension.xlsx",
                                      lambda xml: re.sub(rb'<dimension ref="[^"]*"',
                                                         b'<dimension ref="A1:XFD1048576"', xml))
    # A cell that names a row of its own, far below the row it sits in (calamine believes it)
    made["liar"] = rewrite_sheet(
        folder / "plain.xlsx", folder / "liar.xlsx", lambda xml: xml.replace(
            b'<row r="2">', b'<row r="2"><c r="AZ999999" t="inlineStr"><is><t>x</t></is></c>', 1))
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice:
        profile = folder / "profile"
        _convert(soffice, profile, "xls", folder, made["iv65536"])
        _convert(soffice, profile, "ods", folder, made["z1048576"], export(folder / "good.xlsx"))
        made["xls"] = folder / "iv65536.xls"
        made["ods"] = folder / "z1048576.ods"
        # One value repeated over the whole sheet: 17 billion cells from a few bytes.
        made["ods_repeat"] = rewrite_sheet(
            folder / "good.ods", folder / "repeat.ods", lambda xml: xml.replace(
                b"</table:table>",
                b'<table:table-row table:number-rows-repeated="1048000"><table:table-cell '
                b'office:value-type="string" table:number-columns-repeated="16384"><text:p>x'
                b"</text:p></table:table-cell></table:table-row></table:table>", 1))
    return made


@pytest.mark.parametrize("name,cell", [("xfd1048576", "XFD1048576"), ("z1048576", "Z1048576"),
                                       ("xfd2000", "XFD2000"), ("liar", "AZ999999")])
def test_an_xlsx_with_a_stray_cell_is_read_without_it_in_little_memory(files, name, cell):
    code, peak, output = validate_measured(files[name])
    assert code == 0, output  # the three rows are clean: the stray cell is not a row
    assert peak < MAX_RSS_MB, f"{peak:.0f} MB"
    assert re.search(rf"sheet 'Sheet': cell {cell} \('(leftover|x)'\) is far outside the data "
                     r"\(A1:C4\) and not read", output), output
    assert [row["Status"] for row in sheet_rows(files[name].with_suffix(".report.xlsx"))] == [
        "not_sent"] * 3


def test_an_absurd_dimension_alone_costs_nothing(files):
    code, peak, output = validate_measured(files["dimension"])
    assert code == 0 and peak < MAX_RSS_MB and "far outside" not in output, output


@pytest.mark.parametrize("name,message", [
    ("xls", "iv65536.xls: sheet 'Sheet' has a value far outside the data: IV65536, beyond the "
            "data (A1:C4); reading it would take about 512 MB of memory"),
    ("ods", "z1048576.ods: sheet 'Sheet' has a value far outside the data: Z1048576, beyond "
            "the data (A1:C4); reading it would take about 832 MB of memory"),
    ("ods_repeat", "repeat.ods: sheet 'Sheet' repeats one value over 17,170,432,000 cells "
                   "(from A1048577); reading it would take about 512 GB of memory: refused"),
])
def test_xls_and_ods_that_cannot_be_read_around_a_cell_are_refused_naming_it(files, name,
                                                                            message):
    if name not in files:
        pytest.skip("LibreOffice (soffice) is not installed")
    code, peak, output = validate_measured(files[name])
    assert code == 2 and peak < MAX_RSS_MB, (code, peak, output)
    assert f"Error: {message}" in output and "Traceback" not in output


def test_the_inbox_archives_an_unreadable_file_with_its_reason_and_goes_on(files, tmp_path):
    if "xls" not in files:
        pytest.skip("LibreOffice (soffice) is not installed")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(files["xls"], inbox / "a-far.xls")
    shutil.copy(files["ods_repeat"], inbox / "b-bomb.ods")
    shutil.copy(files["xfd1048576"], inbox / "c-stray.xlsx")
    write_csv(inbox / "d-good.csv", [["learner_id", "course_id", "due_date_type"],
                                     [ACTIVE[9], COURSE, "unlimited"]])
    for n, name in enumerate(sorted(p.name for p in inbox.iterdir())):
        os.utime(inbox / name, (1_000 + n, 1_000 + n))  # oldest first: in name order
    with SandboxServer().start() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BULK_ENROLL_")}
        env.update({"BULK_ENROLL_SOAP_URL": server.soap_url,
                    "BULK_ENROLL_API_URL": server.api_url,
                    "BULK_ENROLL_CLIENT_ID": SANDBOX_CLIENT_ID,
                    "BULK_ENROLL_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
                    "BULK_ENROLL_STATE_DIR": str(tmp_path / "state"),
                    "BULK_ENROLL_INBOX_STABLE_SECONDS": "0"})
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, sys.executable, "-m", "bulk_enroll.cli",
             "--log-format", "json", "inbox", str(inbox)],
            env=env, capture_output=True, text=True, timeout=300)
        enrolled = set(server.state.enrollments())
    code, peak = done.stdout.split()
    assert int(code) == 1 and float(peak) < MAX_RSS_MB, done.stderr
    assert "Traceback" not in done.stderr
    outcomes = {entry["file"]: entry["outcome"]
                for entry in map(json.loads, done.stderr.splitlines())
                if entry.get("event") == "file"}
    assert outcomes == {"a-far.xls": "unreadable", "b-bomb.ods": "unreadable",
                        "c-stray.xlsx": "processed", "d-good.csv": "processed"}
    [day] = (inbox / "archive" / "failed").iterdir()
    assert sorted(p.name for p in day.iterdir()) == [
        "a-far.xls", "a-far.xls.reason.txt", "b-bomb.ods", "b-bomb.ods.reason.txt"]
    reason = (day / "a-far.xls.reason.txt").read_text()
    assert reason.startswith("a-far.xls could not be read; nothing was sent.\na-far.xls: sheet "
                             "'Sheet' has a value far outside the data: IV65536")
    assert enrolled == {*((learner, COURSE) for learner in ACTIVE[:3]), (ACTIVE[9], COURSE)}
