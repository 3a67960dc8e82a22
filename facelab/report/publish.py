"""Publish one finished full-profile bench run into a folder that git keeps (``reports/full/``).

``reports/`` itself is scratch: every ``make bench`` (quick profile) rewrites it, so the published run lives beside it,
copied from it only when every notebook of the run finished in the full profile. A visitor then sees the numbers, the
report and the executed notebooks without running anything; ``facelab report --update-readme`` takes the README's
tables from the same files.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from ..config import reports_dir
from ..errors import BadInputError
from ..evaluation.results import STATUS_FILE, read_run_history

#: where the published run is kept (committed; the rest of reports/ is git-ignored)
PUBLISHED_DIR = "full"
#: above this the published folder is too large to commit comfortably (issue 25 asks for about 20 MB)
MAX_PUBLISHED_BYTES = 24 * 2 ** 20


def publishable_records(reports: Path, profile: str = "full") -> list[dict]:
    """The run records of ``reports`` (one per notebook, the latest), after checking that each finished in
    ``profile`` and that its results files and executed HTML are there; a ``BadInputError`` names the first that is
    not (nothing is published from a partial or mixed run)."""
    history_file = reports / "results" / STATUS_FILE
    history, problems = read_run_history(history_file)
    if problems:
        raise BadInputError(history_file, "; ".join(p.reason for p in problems))
    latest: dict[str, dict] = {}
    for r in history["notebooks"]:
        latest[r["notebook"]] = r
    if not latest:
        raise BadInputError(history_file, "no bench run is recorded there: run `facelab bench --profile full` first")
    for name, r in sorted(latest.items()):
        if r.get("profile") != profile or r.get("status") not in ("ok", "done"):
            raise BadInputError(history_file, f"{name} last ran with status {r.get('status')!r} in the "
                                              f"{r.get('profile')!r} profile, not finished in the {profile} profile: "
                                              f"run `facelab bench --profile {profile}` (it resumes) before publishing")
        missing = [f for f in r.get("results", []) if not (reports / "results" / f).is_file()]
        if r.get("executed_html") and not (reports / r["executed_html"]).is_file():
            missing.append(r["executed_html"])
        if missing:
            raise BadInputError(reports, f"{name}: {', '.join(missing)} missing")
    return [latest[k] for k in sorted(latest)]


def publish_report(reports: str | Path | None = None, out: str | Path | None = None, profile: str = "full") -> dict:
    """Copy the finished ``profile`` run of ``reports`` (results files, executed notebooks as HTML, run history) to
    ``out`` (default ``reports/full``) and render its ``index.html`` there (figures embedded, their full size linked
    in the executed notebooks, so the PNG files are not copied). The folder is built aside and swapped in
    whole, so an interrupted publish leaves the earlier one. Returns {"out", "notebooks", "files", "bytes"}."""
    from .render import render_report

    reports = Path(reports) if reports else reports_dir()
    out = Path(out) if out else reports / PUBLISHED_DIR
    records = publishable_records(reports, profile)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (staging / "results").mkdir()
        (staging / "executed").mkdir()
        for r in records:
            for f in r.get("results", []):
                shutil.copy2(reports / "results" / f, staging / "results" / f)
            if r.get("executed_html"):
                shutil.copy2(reports / r["executed_html"], staging / r["executed_html"])
        # the page embeds each figure (fitted to it) and links its full size in the executed notebook, which shows
        # it too: the PNGs are dropped once the page is rendered, so no figure is kept twice (the folder is committed)
        records = [{**r, "results": [f for f in r.get("results", []) if not f.endswith(".png")]} for r in records]
        history = json.loads((reports / "results" / STATUS_FILE).read_text())
        history["notebooks"] = records  # only the published run's records, one per notebook
        (staging / "results" / STATUS_FILE).write_text(json.dumps(history, indent=2))
        render_report(staging / "results", staging / "index.html",
                      full_size={r["stage"]: r["executed_html"] for r in records if r.get("executed_html")})
        for png in (staging / "results").glob("*.png"):
            png.unlink()
        files = [p for p in staging.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        if out.exists():
            old = out.with_name(f".{out.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            staging.rename(out)
            shutil.rmtree(old)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {"out": str(out), "notebooks": [r["notebook"] for r in records], "files": len(files), "bytes": size,
            "too_large": size > MAX_PUBLISHED_BYTES}
