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
import platform
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from ..config import results_dir

SCHEMA = 1
_PACKAGES = ("facelab", "numpy", "tensorflow", "keras", "opencv-contrib-python-headless", "scikit-learn",
             "deepface", "mtcnn", "papermill")


def environment() -> dict:
    """Versions and the machine, so a number can be traced to what produced it."""
    versions = {}
    for p in _PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "packages": versions,
            # speeds depend on these when set (TensorFlow's thread pools; facelab.affect.expression.inference_precision)
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
        self.out_dir.mkdir(parents=True, exist_ok=True)
        target = self.out_dir / f"{self.stage}.json"
        fd, tmp = tempfile.mkstemp(suffix=".json", dir=self.out_dir)
        with os.fdopen(fd, "w") as f:
            json.dump(self.to_dict(), f, indent=2, allow_nan=True)
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; results are meant to be shared like the report
        os.replace(tmp, target)
        return target


def load_results(folder: str | Path | None = None) -> dict[str, dict]:
    """All stage results in a folder, by stage name; files that are not valid results are skipped with a note."""
    folder = Path(folder) if folder else results_dir()
    out = {}
    for f in sorted(folder.glob("*.json")):
        if f.name.startswith("_"):
            continue
        try:
            data = json.loads(f.read_text())
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and data.get("schema") == SCHEMA and "stage" in data:
            out[data["stage"]] = data
    return out
