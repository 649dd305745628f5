"""Calamine sheets, loaded only once what they would cost is known.

calamine allocates a sheet as one dense block from its first value to its last: a 5 KB file
with one value at XFD1048576 asks for 512 GiB and the process is aborted (no report, and an
inbox that never gets past that file). Each sheet is therefore scanned first (`sheet_xml` for
XLSX and ODS, `xls_cells` for XLS) and judged (`far_cells`):

- it fits: calamine reads the file as it is;
- XLSX with a few stray cells far outside the data: calamine reads a copy of the workbook
  without them (a private temporary file, deleted after reading), and the table gets a note
  naming them: an export with a leftover cell at the bottom of the sheet still imports;
- anything else that does not fit (a scattered sheet; a stray cell in an ODS or XLS file, whose
  cells cannot be dropped from the file by reference): `InputRefused` naming the cells, so the
  inbox archives the file as failed with that reason and goes on.

calamine opens XLS and ODS files by reading every sheet at once, so those are weighed whole,
before they are opened (`weigh_before_opening`): every sheet must fit, and so must their sum.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import python_calamine

from bulk_enroll.errors import InputRefused
from bulk_enroll.read.far_cells import Verdict, allowed_area, left_out_note, memory, refusal
from bulk_enroll.read.sheet_xml import (
    UNSCANNED,
    SheetScan,
    ods_workbook_scan,
    scan_sheet,
    without_cells,
)
from bulk_enroll.read.xls_cells import xls_extents

EAGER = ("xls", "ods")  # formats calamine reads whole when it opens them


@dataclass(frozen=True)
class Weighed:
    """An eagerly read workbook's sheets, weighed before opening (see the module)."""

    verdicts: dict[str, Verdict]
    facts_needed: bool = False  # ODS: some table hides rows or holds formulas


def weigh_before_opening(path: Path, kind: str) -> Weighed:
    """Weigh every sheet of an XLS or ODS file before calamine opens it; raises
    `InputRefused` for a sheet whose values are too spread out, or a workbook too big whole."""
    if kind not in EAGER:
        return Weighed({})
    if kind == "xls":
        weighed = Weighed(xls_extents(path))
    else:
        facts_needed, verdicts = ods_workbook_scan(path)
        weighed = Weighed(verdicts, facts_needed)
    for name, verdict in weighed.verdicts.items():
        if not verdict.fits:
            raise InputRefused(refusal(path.name, name, verdict))
    area = sum(v.area for v in weighed.verdicts.values())
    values = sum(v.values for v in weighed.verdicts.values())
    if area > allowed_area(values):
        raise InputRefused(
            f"{path.name}: its sheets together span {area:,} cells for {values:,} values; "
            f"reading them would take {memory(area)} of memory: refused; delete the sheets "
            "or cells you do not need (Ctrl+End jumps to a sheet's last used cell), save and "
            "run again")
    return weighed


class SheetLoader:
    """`loader.load(name)`: the sheet, its scan, and a note when stray cells were left out."""

    def __init__(self, path: Path, workbook: python_calamine.CalamineWorkbook, kind: str,
                 weighed: Weighed | None = None) -> None:
        self.path, self.workbook, self.kind = path, workbook, kind
        self.weighed = weighed or Weighed({})
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._copies: list[python_calamine.CalamineWorkbook] = []

    def scan(self, name: str) -> SheetScan:
        """What reading the sheet would cost (and what its XML says), before any reading."""
        if self.kind in EAGER:  # weighed whole before opening
            return SheetScan(self.weighed.verdicts.get(name, Verdict(0, 0)),
                             self.weighed.facts_needed)
        if self.kind == "xlsx":
            return scan_sheet(self.path, name, self.kind)
        return UNSCANNED

    def load(self, name: str, scan: SheetScan | None = None
             ) -> tuple[python_calamine.CalamineSheet, SheetScan, str | None]:
        """The sheet as calamine reads it, within its cost; raises `InputRefused`."""
        scan = scan or self.scan(name)
        verdict = scan.extent
        if verdict.fits:
            return self.workbook.get_sheet_by_name(name), scan, None
        if verdict.refused or self.kind != "xlsx" or scan.part is None:
            raise InputRefused(refusal(self.path.name, name, verdict))
        copy = self._copy_without(scan)
        return copy.get_sheet_by_name(name), scan, left_out_note(name, verdict)

    def sheet(self, name: str) -> python_calamine.CalamineSheet:
        """Only the sheet (for a quick look, such as a report's Summary)."""
        return self.load(name)[0]

    def _copy_without(self, scan: SheetScan) -> python_calamine.CalamineWorkbook:
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="bulk-enroll-")  # mode 0700
        target = Path(self._scratch.name) / f"{len(self._copies)}{self.path.suffix}"
        without_cells(self.path, scan.part or "", scan.extent.left_out, target)
        copy = python_calamine.CalamineWorkbook.from_path(str(target))
        self._copies.append(copy)
        return copy

    def close(self) -> None:
        for copy in self._copies:
            copy.close()
        if self._scratch is not None:
            self._scratch.cleanup()

    def __enter__(self) -> SheetLoader:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
