"""Cells far outside the data: what a sheet's value cells would cost to read, and which few to
leave out so that the cost follows the cells that exist. Pure.

python-calamine holds a sheet as one dense block from its first value cell to its last, so a
single stray value at XFD1048576 below a 4-row export asks for 17 billion cells (SIGABRT), and
one at Z1048576 for 27 million (0.9 GB). A block is acceptable up to `FLOOR` cells, or up to
`SPREAD` times the values it holds (a sheet with gaps). Beyond that, the value cells on the
block's edges are set aside one edge at a time, the edge with the fewest first, until the rest
fits: an export with a stray cell or two is read without them, with a note naming them; a
sheet whose values are scattered everywhere is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bulk_enroll.read.columns import column_letter

FLOOR = 2_000_000  # cells: about 60 MB in calamine, whatever the sheet holds
SPREAD = 16  # a block may be this many times larger than the cells it holds
MAX_LEFT_OUT = 20  # more stray cells than this: the sheet is refused, not read around
BYTES_PER_CELL = 32  # what calamine spends on one cell of its block (measured: 31 to 62)

Block = tuple[int, int, int, int]  # top, left, bottom, right: 0-based, inclusive


@dataclass(frozen=True, slots=True)
class Cell:
    """A value cell: 0-based row and column, and its value as text (for the note)."""

    row: int
    column: int
    value: str = ""

    def describe(self) -> str:
        name = f"{column_letter(self.column)}{self.row + 1}"
        return f"{name} ({self.value!r})" if self.value else name


@dataclass(frozen=True)
class Verdict:
    """What reading the sheet's values would cost, and what to do about it."""

    area: int  # cells of the dense block holding every value
    values: int  # value cells
    left_out: tuple[Cell, ...] = ()  # set aside: far outside the rest
    block: Block | None = None  # the block of every value
    kept: Block | None = None  # the block without the cells set aside
    refused: bool = False  # scattered: even without a few cells the block stays absurd

    @property
    def fits(self) -> bool:
        return not self.left_out and not self.refused


def allowed_area(values: int) -> int:
    return max(FLOOR, SPREAD * values)


def area_of(top: int, left: int, bottom: int, right: int) -> int:
    return (bottom - top + 1) * (right - left + 1)


def judge(rows: Sequence[int], columns: Sequence[int], values: int | None = None) -> Verdict:
    """The cost of the value cells at (`rows[i]`, `columns[i]`) (`values` counts the values
    when not one per position) and, when too high, the few far from the rest to set aside
    (their `value` is left for the caller to fill in)."""
    count = len(rows) if values is None else values
    if not rows:
        return Verdict(0, count)
    edges = _Edges(rows, columns)
    block = edges.block()
    area = area_of(*block)
    if area <= allowed_area(count):
        return Verdict(area, count, block=block, kept=block)
    left_out: list[int] = []
    while area_of(*edges.block()) > allowed_area(count - len(left_out)):
        group = edges.cheapest_edge()
        left_out.extend(group)
        if len(left_out) > MAX_LEFT_OUT or len(left_out) >= len(rows):
            return Verdict(area, count, block=block, refused=True)
        edges.remove(group)
    cells = tuple(Cell(rows[i], columns[i]) for i in sorted(left_out))
    return Verdict(area, count, cells, block, edges.block())


def name_block(block: Block) -> str:
    top, left, bottom, right = block
    return f"{column_letter(left)}{top + 1}:{column_letter(right)}{bottom + 1}"


def memory(cells: int) -> str:
    """What calamine would need for a block of `cells`, for a person."""
    size = cells * BYTES_PER_CELL
    return f"about {size / 2**30:,.0f} GB" if size >= 2**30 else f"about {size / 2**20:,.0f} MB"


def left_out_note(sheet: str, verdict: Verdict) -> str:
    """The note of a sheet read without its stray cells."""
    cells = verdict.left_out
    listed = ", ".join(c.describe() for c in cells)
    what = f"cell {listed} is" if len(cells) == 1 else f"{len(cells)} cells ({listed}) are"
    it, they = ("it", "it is") if len(cells) == 1 else ("them", "they are")
    kept = f" ({name_block(verdict.kept)})" if verdict.kept else ""
    return (f"sheet {sheet!r}: {what} far outside the data{kept} and not read (with {it}, the "
            f"sheet would span {verdict.area:,} cells, {memory(verdict.area)} of memory); "
            f"if {they} left over, delete {it} in the file")


def refusal(file: str, sheet: str, verdict: Verdict) -> str:
    """Why a sheet is not read, and what to do."""
    spread = (f"{verdict.area:,} cells ({name_block(verdict.block)})" if verdict.block
              else f"{verdict.area:,} cells")
    cost = f"reading it would take {memory(verdict.area)} of memory for {spread}"
    fix = ("delete {what} (Ctrl+End jumps to the last used cell in Excel and LibreOffice), "
           "save and run again")
    if verdict.left_out:
        cells = ", ".join(c.describe() for c in verdict.left_out)
        kept = f", beyond the data ({name_block(verdict.kept)})" if verdict.kept else ""
        noun = "a value" if len(verdict.left_out) == 1 else "values"
        what = "that cell" if len(verdict.left_out) == 1 else "those cells"
        return (f"{file}: sheet {sheet!r} has {noun} far outside the data: {cells}{kept}; "
                f"{cost}: refused; {fix.format(what=what)}")
    return (f"{file}: sheet {sheet!r} scatters {verdict.values:,} values over {spread}; "
            f"reading it would take {memory(verdict.area)} of memory: refused; keep the data "
            f"in one block: {fix.format(what='the cells outside it')}")


class _Edges:
    """The value cells by row and by column, with the block's four edges kept current."""

    def __init__(self, rows: Sequence[int], columns: Sequence[int]) -> None:
        self.by_row: dict[int, list[int]] = {}
        self.by_column: dict[int, list[int]] = {}
        for index, (row, column) in enumerate(zip(rows, columns, strict=True)):
            self.by_row.setdefault(row, []).append(index)
            self.by_column.setdefault(column, []).append(index)
        self.rows = sorted(self.by_row)
        self.columns = sorted(self.by_column)
        self.gone: set[int] = set()
        self.top, self.bottom = 0, len(self.rows) - 1
        self.left, self.right = 0, len(self.columns) - 1

    def block(self) -> Block:
        return (self.rows[self.top], self.columns[self.left], self.rows[self.bottom],
                self.columns[self.right])

    def cheapest_edge(self) -> list[int]:
        """The cells on one edge of the block: the edge holding the fewest, then the one
        farthest from its neighbour (whose removal shrinks the block most)."""
        options = []
        for line, neighbour, cells in (
            (self.rows[self.bottom], self._next(self.rows, self.bottom, -1, self._row),
             self._row(self.bottom)),
            (self.columns[self.right], self._next(self.columns, self.right, -1, self._column),
             self._column(self.right)),
            (self.rows[self.top], self._next(self.rows, self.top, 1, self._row),
             self._row(self.top)),
            (self.columns[self.left], self._next(self.columns, self.left, 1, self._column),
             self._column(self.left)),
        ):
            gap = abs(line - neighbour) if neighbour is not None else 0
            options.append((len(cells), -gap, cells))
        return min(options, key=lambda option: option[:2])[2]

    def remove(self, group: list[int]) -> None:
        self.gone.update(group)
        while self.top < self.bottom and not self._row(self.top):
            self.top += 1
        while self.bottom > self.top and not self._row(self.bottom):
            self.bottom -= 1
        while self.left < self.right and not self._column(self.left):
            self.left += 1
        while self.right > self.left and not self._column(self.right):
            self.right -= 1

    def _row(self, position: int) -> list[int]:
        return [i for i in self.by_row[self.rows[position]] if i not in self.gone]

    def _column(self, position: int) -> list[int]:
        return [i for i in self.by_column[self.columns[position]] if i not in self.gone]

    def _next(self, lines: list[int], position: int, step: int,
              cells_of: Callable[[int], list[int]]) -> int | None:
        """The nearest line from `position` inward that still holds a cell."""
        low, high = (self.top, self.bottom) if lines is self.rows else (self.left, self.right)
        position += step
        while low <= position <= high:
            if cells_of(position):
                return lines[position]
            position += step
        return None
