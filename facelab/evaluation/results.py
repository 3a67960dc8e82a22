"""The results schema: one JSON file per stage in the results folder, read by the report.

Every number in the report comes from one of these files; nothing is typed by hand.
Schema (``schema: 1``)::

    {"stage", "title", "profile", "created", "duration_s", "environment": {...},
     "metrics": [{"model", "metric", "value", "split", "dataset", "baseline", "higher_is_better", ...}],
     "tables": {name: [row dicts]}, "figures": [{"file", "caption"}],
     "unavailable": [{"model", "reason"}], "notes": [str]}
"""
from __future__ import annotations

import json
import os
import sys
import platform
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from ..config import results_dir

SCHEMA = 1
_PACKAGES = ("facelab", "numpy", "tensorflow", "keras", "opencv-contrib-python-headless", "scikit-learn",
             "deepface", "mtcnn", "papermill")


def git_commit() -> str | None:
    """The checkout's commit (with "+changes" when the tree differs), or None outside a git checkout."""
    import subprocess

    root = Path(__file__).resolve().parents[2]  # the checkout holding facelab/
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + ("+changes" if dirty else "")) if head else None


def _gpus() -> str:
    """The GPUs TensorFlow sees, when it is already loaded (a results file is written by a notebook that loaded it;
    importing TensorFlow only to look would cost seconds)."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return "not checked (TensorFlow not loaded)"
    try:
        found = [d.name for d in tf.config.list_physical_devices("GPU")]
    except Exception as exc:  # noqa: BLE001 - a broken driver is a fact to record, not a reason to fail
        return f"unknown ({type(exc).__name__})"
    return ", ".join(found) if found else "none found"


def environment() -> dict:
    """Versions and the machine, so a number can be traced to what produced it."""
    versions = {}
    for p in _PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "gpu": _gpus(), "git_commit": git_commit(), "packages": versions,
            # speeds depend on these when set (TensorFlow's thread pools; facelab.models.runtime.inference_precision)
            "settings": {k: os.environ.get(k) for k in ("TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS",
                                                        "FACELAB_PRECISION")}}


def _jsonable(value):
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


class ResultsWriter:
    """Collect a stage's metrics, tables, figures and notes; ``write()`` saves them atomically."""

    def __init__(self, stage: str, title: str = "", profile: str = "quick", out_dir: str | Path | None = None):
        self.stage, self.title, self.profile = stage, title or stage, profile
        self.out_dir = Path(out_dir) if out_dir else results_dir()
        self._start = time.perf_counter()
        self.metrics: list[dict] = []
        self.tables: dict[str, list[dict]] = {}
        self.figures: list[dict] = []
        self.unavailable: list[dict] = []
        self.notes: list[str] = []

    def add(self, model: str, metric: str, value, split: str, dataset: str, baseline: bool = False,
            higher_is_better: bool = True, **extra) -> "ResultsWriter":
        """One measured number: which model, what metric, on which split of which data set."""
        self.metrics.append(_jsonable({"model": model, "metric": metric, "value": value, "split": split,
                                       "dataset": dataset, "baseline": baseline,
                                       "higher_is_better": higher_is_better, **extra}))
        return self

    def table(self, name: str, rows: list[dict]) -> "ResultsWriter":
        self.tables[name] = _jsonable(rows)
        return self

    def figure(self, fig, name: str, caption: str = "") -> Path:
        """Save a matplotlib figure as ``<stage>_<name>.png`` beside the JSON and list it for the report."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        file = self.out_dir / f"{self.stage}_{name}.png"
        fig.savefig(file, dpi=90, bbox_inches="tight")
        self.figures = [f for f in self.figures if f["file"] != file.name] + [{"file": file.name, "caption": caption}]
        return file

    def mark_unavailable(self, model: str, reason: str) -> "ResultsWriter":
        self.unavailable.append({"model": model, "reason": reason})
        return self

    def note(self, text: str) -> "ResultsWriter":
        self.notes.append(text)
        return self

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "stage": self.stage, "title": self.title, "profile": self.profile,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "duration_s": round(time.perf_counter() - self._start, 2), "environment": environment(),
                "metrics": self.metrics, "tables": self.tables, "figures": self.figures,
                "unavailable": self.unavailable, "notes": self.notes}

    def write(self) -> Path:
        """Write ``<stage>.json`` atomically (temp file, then rename), so a crash leaves the old file intact."""
        target = self.out_dir / f"{self.stage}.json"
        replace_text(target, json.dumps(self.to_dict(), indent=2, allow_nan=True))
        return target


def replace_text(path: str | Path, text: str) -> Path:
    """Write ``path`` through a uniquely named temporary file beside it, then rename it into place: a reader never
    sees a half-written file, and two writers never share a temporary name. Keeps the mode of the file it replaces;
    a new file gets 0644 (mkstemp's 0600 would hide results and reports meant to be shared)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class ResultsProblem:
    """Something wrong with one file of the results folder, in one line. ``stage`` is the stage the file holds (or,
    when it cannot be read at all, the one its name says), so the report can show that stage as unreadable instead of
    dropping it."""

    file: Path
    reason: str
    stage: str | None = None

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


_SECTIONS = {"metrics": list, "tables": dict, "figures": list, "unavailable": list, "notes": list}
_METRIC_KEYS = ("model", "metric", "value")


def _checked(data: dict, file: Path) -> tuple[dict, list[ResultsProblem]]:
    """The parts of a results dict the report relies on, checked by hand: each bad entry is named and left out, the
    rest kept (a JSON-schema validator would reject the whole file for one bad metric)."""
    stage = data["stage"]
    problems = []

    def bad(reason):
        problems.append(ResultsProblem(file, reason, stage))

    out = dict(data)
    for key, kind in _SECTIONS.items():
        if key in data and not isinstance(data[key], kind):
            bad(f"{key!r} is a JSON {type(data[key]).__name__}, not a {kind.__name__}; left out")
            out[key] = kind()
    metrics = []
    for i, m in enumerate(out.get("metrics", [])):
        lacks = [k for k in _METRIC_KEYS if not isinstance(m, dict) or k not in m]
        if lacks:
            bad(f"metric {i + 1} has no {', '.join(map(repr, lacks))}; left out")
        else:
            metrics.append(m)
    out["metrics"] = metrics
    figures = []
    for i, f in enumerate(out.get("figures", [])):
        if isinstance(f, dict) and isinstance(f.get("file"), str):
            figures.append(f)
        else:
            bad(f"figure {i + 1} names no file; left out")
    out["figures"] = figures
    tables = {}
    for name, rows in out.get("tables", {}).items():
        if isinstance(rows, list) and all(isinstance(r, dict) for r in rows):
            tables[name] = rows
        else:
            bad(f"table {name!r} is not a list of rows; left out")
    out["tables"] = tables
    out["unavailable"] = [u for u in out.get("unavailable", []) if isinstance(u, dict)]
    out["notes"] = [str(n) for n in out.get("notes", [])]
    return out, problems


def read_results(folder: str | Path | None = None) -> tuple[dict[str, dict], list[ResultsProblem]]:
    """All stage results in a folder by stage name, and every problem met reading them: a file that is not UTF-8,
    not JSON (truncated), not a results dict, of another schema, or with malformed entries. A file with bad entries
    keeps its good ones; one that cannot be read at all is only a problem. Names starting with ``_`` (the run
    history) are not results."""
    folder = Path(folder) if folder else results_dir()
    out: dict[str, dict] = {}
    source: dict[str, Path] = {}
    problems: list[ResultsProblem] = []
    for f in sorted(folder.glob("*.json")):
        if f.name.startswith("_"):
            continue
        try:
            data = json.loads(f.read_bytes().decode("utf-8"))
        except UnicodeDecodeError:
            problems.append(ResultsProblem(f, "not text (binary or not UTF-8): unreadable", f.stem))
            continue
        except json.JSONDecodeError as exc:
            problems.append(ResultsProblem(f, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}; "
                                              "truncated?): unreadable", f.stem))
            continue
        except OSError as exc:
            problems.append(ResultsProblem(f, f"cannot be read ({exc.strerror or exc}): unreadable", f.stem))
            continue
        if not isinstance(data, dict) or not isinstance(data.get("stage"), str) or not data["stage"]:
            problems.append(ResultsProblem(f, 'not a results file (no "stage"): unreadable', f.stem))
            continue
        stage = data["stage"]
        if data.get("schema") != SCHEMA:
            problems.append(ResultsProblem(f, f"schema {data.get('schema')!r}, this facelab reads schema {SCHEMA}: "
                                              "unreadable", stage))
            continue
        if stage in out:
            problems.append(ResultsProblem(f, f"stage {stage!r} is also in {source[stage].name}; this file left out",
                                           stage))
            continue
        out[stage], found = _checked(data, f)
        source[stage] = f
        problems += found
    return out, problems


def load_results(folder: str | Path | None = None) -> dict[str, dict]:
    """The readable stage results in a folder, by stage name (:func:`read_results` without its problems)."""
    return read_results(folder)[0]


STATUS_FILE = "_bench.json"


def read_run_history(file: str | Path) -> tuple[dict, list[ResultsProblem]]:
    """The run history (``_bench.json``) that `facelab bench` merges into and the report shows, read defensively:
    (summary dict whose ``notebooks`` is a list of records, the problems). Records that are not dicts naming their
    notebook are dropped and counted, the others kept; a file that is not JSON or not an object gives an empty
    history. A missing file is no problem (no bench ran yet)."""
    file = Path(file)
    try:
        data = json.loads(file.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return {"notebooks": []}, []
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {"notebooks": []}, [ResultsProblem(file, f"unreadable run history ({type(exc).__name__}: {exc}); "
                                                        "ignored")]
    problems = []
    if isinstance(data, list):  # a bare list of records: keep those that are records
        problems.append(ResultsProblem(file, "run history is a JSON list, not an object; its records kept"))
        data = {"notebooks": data}
    if not isinstance(data, dict):
        return {"notebooks": []}, [ResultsProblem(file, f"run history is a JSON {type(data).__name__}, not an "
                                                        "object; ignored")]
    records = data.get("notebooks", [])
    if not isinstance(records, list):
        return {**data, "notebooks": []}, [ResultsProblem(file, '"notebooks" is not a list; ignored')]
    good = [r for r in records if isinstance(r, dict) and isinstance(r.get("notebook"), str)]
    if len(good) < len(records):
        problems.append(ResultsProblem(file, f"{len(records) - len(good)} run record(s) without a notebook name "
                                             "dropped"))
    return {**data, "notebooks": good}, problems
