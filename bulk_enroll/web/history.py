"""What the page remembers across restarts, in the state folder: past runs and column mappings.

Two small JSON files under `<state_dir>/web/`, each replaced atomically: `runs.json`, the
runs the page started (date, file, counts, its report), and `aliases.json`, the column
mappings a person chose, in the same shape as the configuration's `[input] aliases` table
(header as written -> field), so the next file with those headers needs no mapping.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from bulk_enroll.atomic_files import write_private_json

log = logging.getLogger(__name__)
MAX_RUNS = 200  # the index keeps the latest runs; their reports stay in the folder


@dataclass(frozen=True)
class PastRun:
    id: str
    started: str  # ISO date-time
    file: str
    counts: dict[str, int]
    verdict: str
    report: str  # the report's file name in the reports folder ("" when none was written)
    sandbox: bool
    dry_run: bool
    exit_status: int


class History:
    """The page's state folder: the run index, the reports, the remembered mappings."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.reports = folder / "reports"
        self._runs_file = folder / "runs.json"
        self._aliases_file = folder / "aliases.json"
        self._lock = threading.Lock()
        self.reports.mkdir(parents=True, exist_ok=True)

    # ---- past runs -----------------------------------------------------------------------------

    def runs(self, *, sandbox: bool) -> list[PastRun]:
        """Past runs of this mode (sandbox or account), newest first."""
        return [run for run in self._read_runs() if run.sandbox == sandbox]

    def find(self, run_id: str) -> PastRun | None:
        return next((run for run in self._read_runs() if run.id == run_id), None)

    def add(self, run: PastRun) -> None:
        with self._lock:
            runs = [run, *(r for r in self._read_runs() if r.id != run.id)][:MAX_RUNS]
            write_private_json(self._runs_file, [asdict(r) for r in runs])

    def report_path(self, run: PastRun) -> Path | None:
        """The run's report, if it is still in the reports folder."""
        if not run.report or Path(run.report).name != run.report:
            return None
        path = self.reports / run.report
        return path if path.is_file() else None

    def _read_runs(self) -> list[PastRun]:
        data = _read_json(self._runs_file, [])
        runs = []
        for entry in data if isinstance(data, list) else []:
            try:
                runs.append(PastRun(**entry))
            except TypeError:
                continue  # an entry this version does not know: skipped, not fatal
        return runs

    # ---- remembered column mappings --------------------------------------------------------

    def aliases(self) -> dict[str, str]:
        data = _read_json(self._aliases_file, {})
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}

    def remember_aliases(self, aliases: dict[str, str]) -> None:
        with self._lock:
            write_private_json(self._aliases_file, {**self.aliases(), **aliases})

    def forget_aliases(self) -> None:
        """A mapping remembered wrongly would apply to every later file: a person can drop it."""
        with self._lock:
            self._aliases_file.unlink(missing_ok=True)


def _read_json(path: Path, default: object) -> object:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return default
