"""Refused inputs: size, zip bombs, XML entities, encryption, a content that belies the name."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import msoffcrypto
import openpyxl
import pytest

from bulk_enroll.cli import main
from bulk_enroll.errors import ConfigError, InputFileError, InputRefused
from bulk_enroll.jobs import JobOptions, validate_job
from bulk_enroll.read.reader import read_table
from bulk_enroll.read.safety import ReadLimits
from bulk_enroll.settings.config import load_read_limits, load_run_settings
from tests.inputs import rewrite_zip, write_text, write_workbook
from tests.support import make_id

DATA = [["learner_id", "course_id", "due_date_type"], [make_id("l"), make_id("c"), "unlimited"]]


@pytest.fixture
def good_xlsx(tmp_path: Path) -> Path:
    return write_workbook(tmp_path / "good.xlsx", {"Sheet1": DATA})


def refusal(path: Path, **kwargs: object) -> str:
    with pytest.raises(InputRefused) as error:
        read_table(path, **kwargs)  # type: ignore[arg-type]
    return str(error.value)


def test_file_over_the_size_limit(tmp_path, monkeypatch):
    path = write_text(tmp_path / "big.csv", DATA * 2000)
    monkeypatch.setenv("BULK_ENROLL_MAX_FILE_MB", "0.05")
    assert refusal(path, limits=load_read_limits()) == (
        "big.csv is 0.2 MB, over the 0 MB limit; split the file, or raise the limit with "
        "BULK_ENROLL_MAX_FILE_MB"
    )
    with pytest.raises(InputRefused):  # a job without limits of its own reads the environment
        validate_job(JobOptions(input_path=path, reports_dir=tmp_path), load_run_settings())
    monkeypatch.setenv("BULK_ENROLL_MAX_FILE_MB", "1")
    rows = read_table(path, limits=load_read_limits()).rows
    assert len(rows) == 3999  # the header repeats are rows too (invalid later)


def test_size_limit_must_be_a_positive_number(monkeypatch):
    monkeypatch.setenv("BULK_ENROLL_MAX_FILE_MB", "lots")
    with pytest.raises(ConfigError) as caught:
        load_read_limits()
    assert str(caught.value) == (
        "BULK_ENROLL_MAX_FILE_MB='lots' (max_file_mb in [input]) is not a number of megabytes")
    monkeypatch.setenv("BULK_ENROLL_MAX_FILE_MB", "0")
    with pytest.raises(ConfigError, match=r"MAX_FILE_MB='0' \(.*\) must be more than 0$"):
        load_read_limits()


def test_zip_bomb_is_refused_before_calamine_opens_it(good_xlsx, tmp_path):
    padding = b" " * (60 * 1024 * 1024)  # 60 MB of spaces: packs to about 60 KB
    path = rewrite_zip(good_xlsx, tmp_path / "bomb.xlsx", extra={"xl/padding.xml": padding})
    message = refusal(path)
    assert message.startswith("bomb.xlsx unpacks to 60 MB from 0.1 MB (ratio ")
    assert message.endswith(":1): refused as a possible zip bomb")


def test_uncompressed_size_limit_is_configurable(good_xlsx, monkeypatch):
    monkeypatch.setenv("BULK_ENROLL_MAX_UNCOMPRESSED_MB", "0.001")
    assert "refused as a possible zip bomb" in refusal(good_xlsx, limits=load_read_limits())
    assert read_table(good_xlsx, limits=ReadLimits()).rows  # the default allows it


def test_xml_declaring_entities_is_refused_and_openpyxl_refuses_it_too(good_xlsx, tmp_path):
    laughs = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'

    def inject(name: str, data: bytes) -> bytes:
        if name == "xl/worksheets/sheet1.xml":
            data = b'<?xml version="1.0" encoding="UTF-8"?>' + laughs + data
        return data

    path = rewrite_zip(good_xlsx, tmp_path / "laughs.xlsx", inject)
    assert refusal(path) == (
        "laughs.xlsx: part xl/worksheets/sheet1.xml declares a DOCTYPE or XML entities, which "
        "Excel never writes; refused as a possible XML entity bomb"
    )
    assert openpyxl.xml.DEFUSEDXML  # defusedxml is installed, so openpyxl parses defensively
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do, what matters is no load
        openpyxl.load_workbook(path)


def test_a_doctype_hidden_after_a_comment_is_found(good_xlsx, tmp_path):
    def inject(name: str, data: bytes) -> bytes:
        if name == "xl/workbook.xml":
            data = b"<?xml version='1.0'?><!-- <a> --><!DOCTYPE x SYSTEM 'http://x/'>" + data
        return data

    path = rewrite_zip(good_xlsx, tmp_path / "sneaky.xlsx", inject)
    assert "part xl/workbook.xml declares a DOCTYPE" in refusal(path)


def test_password_protected_workbook(good_xlsx, tmp_path):
    office = msoffcrypto.OfficeFile(good_xlsx.open("rb"))
    encrypted = io.BytesIO()
    office.encrypt("s3cret", encrypted)
    path = tmp_path / "locked.xlsx"
    path.write_bytes(encrypted.getvalue())
    assert refusal(path) == (
        "locked.xlsx is password-protected (encrypted); open it, remove the password "
        "(File > Info > Protect Workbook > Encrypt with Password), save, and run again"
    )


def test_encrypted_ods_is_refused(tmp_path):
    path = tmp_path / "locked.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
        archive.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest><manifest:file-entry manifest:full-path="content.xml">'
            "<manifest:encryption-data/></manifest:file-entry></manifest:manifest>",
        )
    assert refusal(path).startswith("locked.ods is password-protected (encrypted)")


@pytest.mark.parametrize(
    "name,content,message",
    [
        (
            "renamed.csv",
            "xlsx",
            "renamed.csv is an Excel workbook (XLSX), not a text (CSV) file as its extension "
            "says; rename it to renamed.xlsx and run again",
        ),
        (
            "export.xls",
            b"<html><body><table><tr><td>learner_id</td></tr></table></body></html>",
            "export.xls is a web page (HTML), not an Excel 97-2003 workbook (XLS) as its "
            "extension says; open it in Excel and save it as an Excel Workbook (.xlsx)",
        ),
        (
            "export.xlsx",
            b"learner_id,course_id\n",
            "export.xlsx is a text file, not an Excel workbook (XLSX) as its extension says; "
            "rename it to export.csv and run again",
        ),
        (
            "report.xlsx",
            "docx",
            "report.xlsx is a Word document, not an Excel workbook (XLSX) as its extension says",
        ),
        (
            "scan.csv",
            b"%PDF-1.7\n",
            "scan.csv is a PDF document, not a text (CSV) file as its extension says",
        ),
        (
            "sheet.ods",
            "xlsx",
            "sheet.ods is an Excel workbook (XLSX), not an OpenDocument spreadsheet (ODS) as its "
            "extension says; rename it to sheet.xlsx and run again",
        ),
        (
            "old.xls",
            b"<?xml version='1.0'?><Workbook xmlns='urn:schemas-microsoft-com:office:spreadsheet'>",
            "old.xls is an Excel 2003 XML spreadsheet, not an Excel 97-2003 workbook (XLS) as its "
            "extension says; open it in Excel and save it as an Excel Workbook (.xlsx)",
        ),
    ],
)
def test_content_that_belies_the_extension(tmp_path, good_xlsx, name, content, message):
    path = tmp_path / name
    if content == "xlsx":
        path.write_bytes(good_xlsx.read_bytes())
    elif content == "docx":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("word/document.xml", "<w:document/>")
    else:
        path.write_bytes(content)
    assert refusal(path) == message


def test_refusals_exit_2_without_a_traceback(tmp_path, good_xlsx, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    renamed = tmp_path / "renamed.csv"
    renamed.write_bytes(good_xlsx.read_bytes())
    assert main(["validate", str(renamed)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "Error: renamed.csv is an Excel workbook (XLSX), not a text (CSV) file as its extension "
        "says; rename it to renamed.xlsx and run again\n"
    )
    assert not (tmp_path / "reports").exists() or not list((tmp_path / "reports").iterdir())


def test_unreadable_workbook_is_an_input_error(tmp_path):
    path = tmp_path / "cut.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(InputFileError) as error:
        read_table(path)
    assert str(error.value) == (
        "cut.xlsx is a damaged or incomplete ZIP file; save or download it again and run again"
    )


def test_a_zip_with_a_corrupt_member_is_an_input_error(good_xlsx, tmp_path):
    data = bytearray(good_xlsx.read_bytes())
    with zipfile.ZipFile(good_xlsx) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + 5
    data[start : start + 40] = b"\xff" * 40  # garble the compressed bytes
    path = tmp_path / "garbled.xlsx"
    path.write_bytes(bytes(data))
    with pytest.raises(InputFileError, match="^garbled.xlsx is damaged or incomplete"):
        read_table(path)
