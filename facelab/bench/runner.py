"""`facelab bench`: execute the notebooks with papermill, convert them to HTML, render the report.

Each notebook runs into a staging folder of its own (two benches may run at once); only when it succeeds, with
metrics, do its results and executed copy replace the earlier ones, so a failed, interrupted or data-less run never
loses the last good results. Moving results into place and merging the run history happen under a lock on
``reports/.bench.lock``, so two benches never interleave them.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no lock; the staging folders are still apart
    fcntl = None

import nbformat

from ..config import DEFAULT_PROFILE, check_profile, data_home, notebooks_dir, reports_dir
from ..errors import DatasetNotFoundError, FacelabError
from ..evaluation.results import STATUS_FILE, read_results, read_run_history, replace_text

LOCK_FILE = ".bench.lock"


def _warn(line: str) -> None:
    print(f"facelab bench: warning: {line}", file=sys.stderr)


@contextmanager
def bench_lock(reports: Path):
    """Hold an exclusive lock on ``reports/.bench.lock`` (fcntl.flock: released by the kernel even if the process
    dies, so no stale lock file to clean). Held only while outputs move into place and the history is merged, so a
    second bench waits seconds, and says once that it waits."""
    reports.mkdir(parents=True, exist_ok=True)
    with open(reports / LOCK_FILE, "a") as fh:
        if fcntl is not None:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                _warn(f"another facelab bench is writing to {reports}; waiting for it")
                fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh, fcntl.LOCK_UN)


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
    replace_text(html, body)


def _describe_failure(exc: Exception, notebook: Path) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return f"{notebook.name}: cell {exc.exec_count} (execution count) raised {exc.ename}: {exc.evalue}"
    return f"{notebook.name}: {type(exc).__name__}: {exc}"


def _missing_data_raised(exc: Exception) -> str | None:
    """The message when a cell raised :class:`DatasetNotFoundError` (the notebook found its data missing itself)."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError) and exc.ename == DatasetNotFoundError.__name__:
        return exc.evalue
    return None


def _judge_staged(staged: Path, notebook: Path) -> tuple[str, str | None]:
    """(status, reason) of a run that raised nothing, from what it wrote: no results file or an unreadable one is a
    failure; results without a single metric (every data set missing, e.g. a mistyped $FACELAB_DATA) are a skip,
    and must not replace earlier results."""
    stages, problems = read_results(staged)
    if problems:
        return "failed", f"{notebook.name}: wrote unreadable results: " + "; ".join(p.reason for p in problems)
    if not stages:
        return "failed", f"{notebook.name}: ran but wrote no results file (ResultsWriter.write() not reached)"
    if any(s["metrics"] for s in stages.values()):
        return "ok", None
    missing = [u.get("model", "?") for s in stages.values() for u in s["unavailable"]]
    reason = f"{notebook.name} measured nothing (no metrics)"
    if missing:
        first = next(u for s in stages.values() for u in s["unavailable"])
        reason += f"; unavailable: {', '.join(map(str, missing))} ({first.get('model')}: {first.get('reason')})"
    if not data_home().is_dir():
        reason += f"; the data home {data_home()} does not exist: check $FACELAB_DATA"
    return "skipped", reason + "; earlier results kept"


def _keep_copy(out_nb: Path, executed_dir: Path, stem: str, kind: str) -> str | None:
    """Keep a failed or skipped run's executed notebook (and its HTML) beside the good one, for reading why."""
    target = executed_dir / f"{stem}.{kind}.ipynb"
    replace_text(target, out_nb.read_text(encoding="utf-8"))
    try:
        to_html(target, executed_dir / f"{stem}.{kind}.html")
    except Exception:  # nbconvert on a half-written notebook: the .ipynb copy is enough
        return None
    return f"executed/{stem}.{kind}.html"


def run_notebook(notebook: Path, profile: str, reports: Path, parameters: dict | None = None) -> dict:
    """Run one notebook in a staging folder of its own; if it measured something, move its results and executed
    copy into ``reports`` (under :func:`bench_lock`). A run that raised DatasetNotFoundError, or wrote no metric, is
    "skipped" and the earlier results stay."""
    import papermill

    stem = notebook.stem
    (reports / ".staging").mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{stem}-", dir=reports / ".staging"))  # one per run: benches never share
    (staging / "results").mkdir()
    executed_dir = reports / "executed"
    executed_dir.mkdir(parents=True, exist_ok=True)
    out_nb = staging / notebook.name
    params = {"profile": profile, "results_dir": str(staging / "results"), **(parameters or {})}
    record = {"notebook": notebook.name, "stage": stage_of(notebook), "profile": profile}
    start = time.perf_counter()
    old_env = {k: os.environ.get(k) for k in ("FACELAB_RESULTS", "FACELAB_BENCH_RESULTS")}
    os.environ["FACELAB_RESULTS"] = str(staging / "results")  # the kernel inherits it: defaults land in staging too
    os.environ["FACELAB_BENCH_RESULTS"] = str(reports / "results")  # where the earlier notebooks' results are
    try:
        try:
            papermill.execute_notebook(str(notebook), str(out_nb), parameters=params, cwd=str(notebook.parent),
                                       kernel_name="python3", progress_bar=False, log_output=False)
        except Exception as exc:  # papermill raises its own error for a failing cell, others for kernel deaths
            missing = _missing_data_raised(exc)
            status, reason = ("skipped", f"{missing}; earlier results kept") if missing else \
                ("failed", _describe_failure(exc, notebook))
        else:
            status, reason = _judge_staged(staging / "results", notebook)
        with bench_lock(reports):
            if status == "ok":
                results = reports / "results"
                results.mkdir(parents=True, exist_ok=True)
                written = sorted(p.name for p in (staging / "results").iterdir())
                for f in (staging / "results").iterdir():
                    os.replace(f, results / f.name)
                os.replace(out_nb, executed_dir / notebook.name)
                to_html(executed_dir / notebook.name, executed_dir / f"{stem}.html")
                for kind in ("failed", "skipped"):
                    for stale in (executed_dir / f"{stem}.{kind}.ipynb", executed_dir / f"{stem}.{kind}.html"):
                        stale.unlink(missing_ok=True)
                record.update(status="ok", results=written, executed_html=f"executed/{stem}.html")
            else:
                record.update(status=status, **{"error" if status == "failed" else "reason": reason})
                if out_nb.exists():
                    html = _keep_copy(out_nb, executed_dir, stem, status)
                    if html:
                        record["executed_html"] = html
    finally:
        for key, value in old_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(staging, ignore_errors=True)
        try:
            (reports / ".staging").rmdir()  # only when no other bench is staging there
        except OSError:
            pass
    record["seconds"] = round(time.perf_counter() - start, 1)
    return record


def merge_history(status_file: Path, records: list[dict]) -> list[dict]:
    """The run history with this run's records merged in, by notebook. A damaged history is named in one warning,
    what can be kept of it is kept, and the file as it was is saved as ``_bench.json.bad``."""
    previous, problems = read_run_history(status_file)
    if problems:
        backup = status_file.with_name(status_file.name + ".bad")
        shutil.copyfile(status_file, backup)
        for line in problems:
            _warn(f"{line}; the file as it was is kept in {backup.name}")
    merged = {r["notebook"]: r for r in previous["notebooks"]}
    merged.update({r["notebook"]: r for r in records})
    return sorted(merged.values(), key=lambda r: r["notebook"])


def _save_history(reports: Path, profile: str, records: list[dict], ok: bool, locked: bool = False) -> dict:
    """Merge ``records`` into ``reports/results/_bench.json`` (read-merge-write under :func:`bench_lock` unless the
    caller holds it: a second bench must not lose this run's records); returns the summary written."""
    status_file = reports / "results" / STATUS_FILE
    status_file.parent.mkdir(parents=True, exist_ok=True)
    lock = nullcontext() if locked else bench_lock(reports)
    with lock:
        summary = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "profile": profile,
                   "data_home": str(data_home()), "notebooks": merge_history(status_file, records), "ok": ok}
        replace_text(status_file, json.dumps(summary, indent=2))
    return summary


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def finished_earlier(notebook: Path, profile: str, reports: Path) -> dict | None:
    """The history record of an earlier successful run of this very notebook (same file content) in this profile
    whose results files are all still there; None when it must run."""
    history, problems = read_run_history(reports / "results" / STATUS_FILE)
    if problems:
        return None
    record = next((r for r in history["notebooks"] if r.get("notebook") == notebook.name), None)
    if not record or record.get("status") != "ok" or record.get("profile") != profile:
        return None
    if record.get("notebook_sha256") != _sha256(notebook):
        return None
    if not record.get("results") or not all((reports / "results" / f).exists() for f in record["results"]):
        return None
    return record


def run_bench(profile: str = DEFAULT_PROFILE, stages: list[str] | None = None, report: bool = True,
              notebooks: Path | None = None, reports: Path | None = None, progress: bool = True,
              resume: bool | None = None) -> dict:
    """Run the selected notebooks; returns a summary (also written to ``reports/results/_bench.json``).

    ``resume`` (default: on for the full profile, whose run takes hours): a notebook that finished earlier in the
    same profile, unchanged since, with its results still there, is not run again (status "done")."""
    from tqdm.auto import tqdm

    try:
        profile = check_profile(profile)
    except ValueError as exc:
        raise FacelabError(str(exc)) from None
    reports = Path(reports) if reports else reports_dir()
    chosen = select(discover_notebooks(notebooks), stages)
    if not chosen:
        raise FacelabError(f"no notebooks found in {Path(notebooks) if notebooks else notebooks_dir()}")
    resume = (profile == "full") if resume is None else resume
    records = []
    bar = tqdm(chosen, desc=f"bench ({profile})", unit="notebook", disable=not progress)
    for nb in bar:
        bar.set_postfix_str(nb.stem)
        earlier = finished_earlier(nb, profile, reports) if resume else None
        if earlier is not None:
            records.append({**earlier, "status": "done", "seconds": 0.0,
                            "reason": f"finished earlier ({earlier.get('finished', '?')}), unchanged: not rerun "
                                      f"(--rerun runs it again)"})
            continue
        reason = missing_data(nb)
        if reason:
            records.append({"notebook": nb.name, "stage": stage_of(nb), "profile": profile, "status": "skipped",
                            "reason": reason, "seconds": 0.0})
            continue
        record = run_notebook(nb, profile, reports)
        if record["status"] == "ok":
            record.update(notebook_sha256=_sha256(nb), finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        records.append(record)
        # recorded at once: a bench stopped later (killed, the session ended) still resumes after this notebook
        _save_history(reports, profile, [record], ok=all(r["status"] != "failed" for r in records))
    with bench_lock(reports):
        summary = _save_history(reports, profile, [r for r in records if r["status"] != "done"],
                                ok=all(r["status"] != "failed" for r in records), locked=True)
        if report:
            from ..report import render_report

            summary["report"] = str(render_report(results=reports / "results", out=reports / "index.html"))
    summary["this_run"] = records
    return summary
