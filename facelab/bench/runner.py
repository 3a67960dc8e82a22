"""`facelab bench`: execute the notebooks with papermill, convert them to HTML, render the report.

Each notebook runs into a staging folder; only when it succeeds do its results
and executed copy replace the earlier ones, so a failed or interrupted run never
loses the last good results.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from ..config import data_home, notebooks_dir, reports_dir
from ..errors import DatasetNotFoundError, FacelabError

STATUS_FILE = "_bench.json"


def discover_notebooks(folder: Path | None = None) -> list[Path]:
    """``NN_name.ipynb`` files in order; checkpoints and scratch files are ignored."""
    folder = Path(folder) if folder else notebooks_dir()
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if p.is_file())


def stage_of(notebook: Path) -> str:
    return notebook.stem.split("_", 1)[1] if "_" in notebook.stem else notebook.stem


def select(notebooks: list[Path], stages: list[str] | None) -> list[Path]:
    """Filter by stage name (``detection``), number (``02``) or stem (``02_detection``)."""
    if not stages:
        return notebooks
    wanted = set(stages)
    chosen = [nb for nb in notebooks if {stage_of(nb), nb.stem, nb.stem.split("_", 1)[0]} & wanted]
    known = {k for nb in notebooks for k in (stage_of(nb), nb.stem, nb.stem.split("_", 1)[0])}
    unknown = wanted - known
    if unknown:
        raise FacelabError(f"unknown stage(s) {sorted(unknown)}; notebooks here: {[nb.stem for nb in notebooks]}")
    return chosen


def required_datasets(notebook: Path) -> list[str]:
    meta = nbformat.read(notebook, as_version=4).metadata.get("facelab", {})
    return list(meta.get("requires", []))


def missing_data(notebook: Path) -> str | None:
    """None when every data set the notebook needs is present, else the reason and how to obtain it."""
    from ..data import DATASETS

    for name in required_datasets(notebook):
        if name not in DATASETS:
            return f"notebook requires unknown data set {name!r}"
        try:
            DATASETS[name].locate(data_home())
        except DatasetNotFoundError as exc:
            return f"data set '{name}' missing (looked at {exc.looked}). How to obtain: {exc.how}"
    return None


def to_html(executed: Path, html: Path) -> None:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    html.write_text(body, encoding="utf-8")


def _describe_failure(exc: Exception, notebook: Path) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return f"{notebook.name}: cell {exc.exec_count} (execution count) raised {exc.ename}: {exc.evalue}"
    return f"{notebook.name}: {type(exc).__name__}: {exc}"


def run_notebook(notebook: Path, profile: str, reports: Path, parameters: dict | None = None) -> dict:
    """Run one notebook; on success move its results and executed copy into ``reports``."""
    import papermill

    stem = notebook.stem
    staging = reports / ".staging" / stem
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "results").mkdir(parents=True)
    executed_dir = reports / "executed"
    executed_dir.mkdir(parents=True, exist_ok=True)
    out_nb = staging / notebook.name
    params = {"profile": profile, "results_dir": str(staging / "results"), **(parameters or {})}
    record = {"notebook": notebook.name, "stage": stage_of(notebook), "profile": profile}
    start = time.perf_counter()
    old_env = os.environ.get("FACELAB_RESULTS")
    os.environ["FACELAB_RESULTS"] = str(staging / "results")  # the kernel inherits it: defaults land in staging too
    try:
        papermill.execute_notebook(str(notebook), str(out_nb), parameters=params, cwd=str(notebook.parent),
                                   kernel_name="python3", progress_bar=False, log_output=False)
    except Exception as exc:  # papermill raises its own error for a failing cell, others for kernel deaths
        record.update(status="failed", error=_describe_failure(exc, notebook))
        if out_nb.exists():  # keep the failed run beside the good one, for reading the traceback
            shutil.copy2(out_nb, executed_dir / f"{stem}.failed.ipynb")
            try:
                to_html(out_nb, executed_dir / f"{stem}.failed.html")
                record["executed_html"] = f"executed/{stem}.failed.html"
            except Exception:
                pass
    else:
        results = reports / "results"
        results.mkdir(parents=True, exist_ok=True)
        written = sorted(p.name for p in (staging / "results").iterdir())
        for f in (staging / "results").iterdir():
            os.replace(f, results / f.name)
        os.replace(out_nb, executed_dir / notebook.name)
        to_html(executed_dir / notebook.name, executed_dir / f"{stem}.html")
        for stale in (executed_dir / f"{stem}.failed.ipynb", executed_dir / f"{stem}.failed.html"):
            stale.unlink(missing_ok=True)
        record.update(status="ok", results=written, executed_html=f"executed/{stem}.html")
    finally:
        if old_env is None:
            os.environ.pop("FACELAB_RESULTS", None)
        else:
            os.environ["FACELAB_RESULTS"] = old_env
        shutil.rmtree(staging, ignore_errors=True)
    record["seconds"] = round(time.perf_counter() - start, 1)
    return record


def run_bench(profile: str = "quick", stages: list[str] | None = None, report: bool = True,
              notebooks: Path | None = None, reports: Path | None = None, progress: bool = True) -> dict:
    """Run the selected notebooks; returns a summary (also written to ``reports/results/_bench.json``)."""
    from tqdm.auto import tqdm

    if profile not in ("quick", "full"):
        raise FacelabError(f"profile must be 'quick' or 'full', not {profile!r}")
    reports = Path(reports) if reports else reports_dir()
    chosen = select(discover_notebooks(notebooks), stages)
    if not chosen:
        raise FacelabError(f"no notebooks found in {Path(notebooks) if notebooks else notebooks_dir()}")
    records = []
    bar = tqdm(chosen, desc=f"bench ({profile})", unit="notebook", disable=not progress)
    for nb in bar:
        bar.set_postfix_str(nb.stem)
        reason = missing_data(nb)
        if reason:
            records.append({"notebook": nb.name, "stage": stage_of(nb), "profile": profile, "status": "skipped",
                            "reason": reason, "seconds": 0.0})
            continue
        records.append(run_notebook(nb, profile, reports))
    (reports / "results").mkdir(parents=True, exist_ok=True)
    status_file = reports / "results" / STATUS_FILE
    previous = {}
    if status_file.exists():
        try:
            previous = {r["notebook"]: r for r in json.loads(status_file.read_text()).get("notebooks", [])}
        except (json.JSONDecodeError, KeyError, TypeError):
            previous = {}
    previous.update({r["notebook"]: r for r in records})
    summary = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "profile": profile,
               "data_home": str(data_home()), "notebooks": sorted(previous.values(), key=lambda r: r["notebook"]),
               "ok": all(r["status"] != "failed" for r in records)}
    tmp = status_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(summary, indent=2))
    os.replace(tmp, status_file)
    if report:
        from ..report import render_report

        summary["report"] = str(render_report(results=reports / "results", out=reports / "index.html"))
    summary["this_run"] = records
    return summary
