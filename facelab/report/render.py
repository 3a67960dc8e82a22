"""Render ``reports/index.html`` from ``reports/results/*.json`` with a jinja2 template.

For each stage: a model x metric table (baselines marked), a bar chart per
metric drawn with matplotlib, the figures the notebook saved, models that could
not run and why, and the notes. Figures are embedded as base64 PNG so the page
is one file a teacher can hand out. A results file that cannot be read is named (on stderr and on
the page) and its stage shown as unreadable, never dropped; only PNG files inside the results folder are embedded.
"""
from __future__ import annotations

import base64
import io
import math
import re
import sys
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from ..evaluation.results import (STATUS_FILE, ResultsProblem, git_commit, read_results, read_run_history,
                                  replace_text)
from ..config import reports_dir

STAGE_ORDER = ["data", "quickstart", "detection", "features", "recognition", "expression", "emotion",
               "application", "claims"]
#: the stages the summary has a row for: one missing its results file is shown as missing, never as zero
SUMMARY_STAGES = ["detection", "features", "recognition", "expression", "emotion", "application"]


def stage_sort_key(stage: str) -> tuple:
    """Stages in workflow order (:data:`STAGE_ORDER`), unknown ones after them by name."""
    return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER), stage)


def _warn(line: str) -> None:
    print(f"facelab report: warning: {line}", file=sys.stderr)


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}" if abs(value) > 1 else f"{value:.3f}"
    return str(value)


def metric_table(metrics: list[dict]) -> dict:
    """Pivot the metric records: one row per model, one column per (metric, split, data set)."""
    columns: "OrderedDict[tuple, bool]" = OrderedDict()  # column -> higher is better
    rows: "OrderedDict[str, dict]" = OrderedDict()
    for m in metrics:
        col = (m["metric"], m.get("split", ""), m.get("dataset", ""))
        columns.setdefault(col, m.get("higher_is_better", True))
        row = rows.setdefault(m["model"], {"model": m["model"], "baseline": m.get("baseline", False), "cells": {}})
        row["cells"][col] = m["value"]
    best = {}
    for col in columns:
        vals = [(r["cells"][col], r["model"]) for r in rows.values() if isinstance(r["cells"].get(col), (int, float))
                and not (isinstance(r["cells"].get(col), float) and math.isnan(r["cells"][col]))]
        if len(vals) > 1:  # every model that reaches the best value (ties included)
            top = (max if columns[col] else min)(v for v, _ in vals)
            best[col] = {name for v, name in vals if v == top}
    filled = sum(len(r["cells"]) for r in rows.values())
    if rows and filled < 0.5 * len(rows) * len(columns):
        # a sparse pivot (each model measured on its own metrics, like the data stage) reads better as a list
        return {"long": [{"model": m["model"], "baseline": m.get("baseline", False), "metric": m["metric"],
                          "value": _fmt(m["value"]), "split": m.get("split", ""), "dataset": m.get("dataset", "")}
                         for m in metrics], "columns": [], "rows": []}
    return {"long": None, "columns": [{"metric": c[0], "split": c[1], "dataset": c[2]} for c in columns],
            "rows": [{"model": r["model"], "baseline": r["baseline"],
                      "cells": [{"text": _fmt(r["cells"].get(c)), "best": r["model"] in best.get(c, ())} for c in columns]}
                     for r in rows.values()]}


def metric_groups(metrics: list[dict]) -> list[dict]:
    """One table per (data set, split), as in the README: few columns each, so a table fits a 1024 px window and
    never sets numbers of different splits side by side without saying so."""
    groups: "OrderedDict[tuple, list]" = OrderedDict()
    for m in metrics:
        groups.setdefault((m.get("dataset", ""), m.get("split", "")), []).append(m)
    return [{"dataset": d, "split": sp, "models": len({m["model"] for m in ms}), "table": metric_table(ms)}
            for (d, sp), ms in groups.items()]


def references() -> dict:
    """The report's reference data (facelab/report/references.json): headline metric per stage, peer libraries,
    published numbers with citations."""
    import json

    return json.loads((Path(__file__).with_name("references.json")).read_text())


def _value(m) -> float | None:
    v = m.get("value")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v)


def _headline(metrics: list[dict], wanted: list[str]) -> tuple | None:
    """The (metric, split, data set) a stage's summary row shows: the first of ``wanted`` that was measured, on
    the split with the most models; else the most shared numeric metric."""
    counts: "OrderedDict[tuple, set]" = OrderedDict()
    for m in metrics:
        if _value(m) is not None:
            counts.setdefault((m["metric"], m.get("split", ""), m.get("dataset", "")), set()).add(m["model"])
    for name in wanted:
        cols = [c for c in counts if c[0] == name]
        if cols:
            return max(cols, key=lambda c: len(counts[c]))
    return max(counts, key=lambda c: len(counts[c])) if counts else None


def summary_rows(stages: dict[str, dict], refs: dict | None = None) -> list[dict]:
    """Per stage: its headline metric, the best facelab model, the best baseline, the best peer library and the
    published references, each with its split. A stage without results is a row saying so."""
    refs = refs or references()
    peers = refs.get("peers", {})
    rows = []
    for stage in SUMMARY_STAGES + [s for s in sorted(stages, key=stage_sort_key)
                                   if s not in SUMMARY_STAGES and s not in ("data", "quickstart", "claims")]:
        published = refs.get("published", {}).get(stage, [])
        s = stages.get(stage)
        if s is None:
            rows.append({"stage": stage, "missing": True, "published": published})
            continue
        col = _headline(s.get("metrics", []), refs.get("headline", {}).get(stage, []))
        if col is None:
            rows.append({"stage": stage, "missing": True, "empty": True, "published": published})
            continue
        higher = True
        best: dict[str, tuple] = {}
        for m in s["metrics"]:
            if (m["metric"], m.get("split", ""), m.get("dataset", "")) != col or _value(m) is None:
                continue
            higher = m.get("higher_is_better", True)
            kind = "peer" if (m.get("peer") or m["model"] in peers) else "baseline" if m.get("baseline") else "facelab"
            v = _value(m)
            if kind not in best or (v > best[kind][1] if higher else v < best[kind][1]):
                best[kind] = (m["model"], v)
        rows.append({"stage": stage, "title": s.get("title", stage), "profile": s.get("profile"), "metric": col[0],
                     "split": col[1], "dataset": col[2], "higher_is_better": higher, "missing": False,
                     **{k: ({"model": best[k][0], "value": _fmt(best[k][1])} if k in best else None)
                        for k in ("facelab", "baseline", "peer")},
                     "published": published})
    return rows


def _environment(stages: dict[str, dict]) -> dict:
    """Where the numbers were measured: the newest results file's environment (its versions and machine),
    every profile and run date, and the commit the report was made from."""
    envs = [(s.get("created") or "", s.get("environment") or {}) for s in stages.values()]
    newest = max(envs, key=lambda e: e[0])[1] if envs else {}
    return {"python": newest.get("python"), "platform": newest.get("platform"), "cpu_count": newest.get("cpu_count"),
            "gpu": newest.get("gpu", "not recorded"), "packages": newest.get("packages", {}),
            "profiles": sorted({s.get("profile") or "?" for s in stages.values()}),
            "runs": sorted((s["stage"], s.get("profile"), s.get("created")) for s in stages.values()),
            "commit_of_results": newest.get("git_commit"), "commit": git_commit()}


def _datasets() -> list[dict]:
    """The data-set cards: what each set is and where it came from (facelab.data.DATASETS)."""
    from ..data import DATASETS

    return [{"name": d.name, "title": d.title, "how": d.how, "note": d.fetch_note} for d in DATASETS.values()]


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def metric_charts(metrics: list[dict], limit: int = 6) -> list[dict]:
    """One horizontal bar chart per metric that several models share (baselines in grey)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: "OrderedDict[tuple, list]" = OrderedDict()
    for m in metrics:
        if isinstance(m.get("value"), (int, float)) and not isinstance(m.get("value"), bool):
            groups.setdefault((m["metric"], m.get("split", ""), m.get("dataset", "")), []).append(m)
    charts = []
    for (metric, split, dataset), ms in groups.items():
        if len(ms) < 2 or len(charts) >= limit:
            continue
        fig, ax = plt.subplots(figsize=(6, 0.35 * len(ms) + 1))
        names = [m["model"] for m in ms]
        ax.barh(names, [m["value"] for m in ms], color=["#9e9e9e" if m.get("baseline") else "#1f77b4" for m in ms])
        ax.invert_yaxis()
        ax.set_xlabel(f"{metric} ({split}, {dataset})")
        for i, m in enumerate(ms):
            ax.text(m["value"], i, " " + _fmt(m["value"]), va="center", fontsize=8)
        charts.append({"caption": f"{metric} on {dataset} ({split}); blue: facelab, grey: baselines", "png": _png(fig)})
        plt.close(fig)
    return charts


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PAGE_FIGURE_WIDTH = 1000


def _embed_file(folder: Path, name: str) -> tuple[str | None, str | None]:
    """(data URI of the figure as the page shows it, None), or (None, why not). The page is handed out, so only a PNG that really lies inside the
    results folder is embedded: ``../`` paths, absolute paths and symlinks leading out of the folder are refused."""
    root = folder.resolve()
    try:
        real = (folder / name).resolve()  # follows every symlink on the way
    except (OSError, RuntimeError):  # a symlink loop
        return None, f"figure {name!r} cannot be resolved; not embedded"
    if not real.is_relative_to(root):
        return None, f"figure {name!r} lies outside the results folder; not embedded"
    if not real.exists():
        return None, f"figure {name!r} is missing"
    if not real.is_file():
        return None, f"figure {name!r} is not a plain file; not embedded"
    data = real.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        return None, f"figure {name!r} is not a PNG image; not embedded"
    try:
        data = fit_for_page(data)
    except Exception:  # noqa: BLE001 - Pillow cannot decode it: the file as it is, the browser may manage
        pass
    mime = "image/jpeg" if data.startswith(b"\xff\xd8") else "image/png"  # fit_for_page may choose JPEG
    return f"data:{mime};base64,{base64.b64encode(data).decode()}", None


def fit_for_page(png: bytes, max_width: int = PAGE_FIGURE_WIDTH, max_bytes: int = 80_000) -> bytes:
    """The figure as the page shows it (PNG or JPEG bytes): no wider than ``max_width`` px (the page is about
    1024 px wide), and, when still above ``max_bytes``, 256 colours or JPEG, whichever is smaller. Why: the
    handed-out page must stay small; the full-size PNG stays in the results folder beside it."""
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.load()
    if image.width <= max_width and len(png) <= max_bytes:
        return png
    if image.width > max_width:
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image = image.resize((max_width, round(image.height * max_width / image.width)), Image.LANCZOS)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    best = buf.getvalue()
    if len(best) > max_bytes:  # photo grids: 256 colours, or JPEG, whichever is smaller
        for fmt, save in (("PNG", lambda im, b: im.quantize(256, method=Image.Quantize.MEDIANCUT).save(
                b, format="PNG", optimize=True)), ("JPEG", lambda im, b: im.save(b, format="JPEG", quality=82))):
            buf = io.BytesIO()
            save(image.convert("RGB"), buf)
            if buf.tell() < len(best):
                best = buf.getvalue()
    return best if len(best) < len(png) else png


def _section(s: dict, results: Path, problems: list[ResultsProblem], href: str = "results",
             full_size: dict | None = None) -> dict:
    figures = []
    notebook = (full_size or {}).get(s["stage"])  # the executed notebook that shows this stage's figures at full size
    for f in s.get("figures", []):
        uri, why = _embed_file(results, f["file"])
        if uri:
            figures.append({"caption": f.get("caption", ""), "uri": uri, "href": notebook or f"{href}/{f['file']}",
                            "link_text": "full size, in the notebook" if notebook else "full size"})
        else:
            problems.append(ResultsProblem(results / f"{s['stage']}.json", why, s["stage"]))
    return {"stage": s["stage"], "title": s.get("title", s["stage"]), "profile": s.get("profile"),
            "created": s.get("created"), "duration_s": s.get("duration_s"),
            "table": metric_table(s.get("metrics", [])), "groups": metric_groups(s.get("metrics", [])),
            "charts": metric_charts(s.get("metrics", [])),
            "figures": figures, "tables": s.get("tables", {}),
            "unavailable": s.get("unavailable", []), "notes": s.get("notes", []),
            "environment": s.get("environment", {}), "fmt": _fmt, "unreadable": False}


def render_report(results: str | Path | None = None, out: str | Path | None = None,
                  problems: list | None = None, full_size: dict | None = None) -> Path:
    """Write the HTML report; returns its path. Works with no results at all (says so). Every problem with the
    results folder (:class:`ResultsProblem`: results files, figures, run history) is warned about on stderr in one
    line, shown on the page, and appended to ``problems`` when given (so the CLI can choose its exit status).
    ``full_size`` ({stage: executed notebook's HTML}) links each figure's full size there instead of to its PNG
    (the published run keeps no PNG twice)."""
    results = Path(results) if results else reports_dir() / "results"
    out = Path(out) if out else reports_dir() / "index.html"
    stages, found = read_results(results) if results.exists() else ({}, [])
    status, history_problems = read_run_history(results / STATUS_FILE)
    import os

    href = Path(os.path.relpath(results.resolve(), out.resolve().parent)).as_posix()  # the full-size figures
    sections = [_section(s, results, found, href, full_size) for s in stages.values()]
    for stage in dict.fromkeys(p.stage for p in found if p.stage and p.stage not in stages):
        # a stage whose file cannot be read at all still gets its section, saying so (never a silent gap)
        sections.append({"stage": stage, "title": stage, "unreadable": True, "notes": [], "fmt": _fmt})
    for sec in sections:
        sec["problems"] = [p for p in found if p.stage == sec["stage"]]
    sections.sort(key=lambda sec: stage_sort_key(sec["stage"]))
    every = found + history_problems
    for p in every:
        _warn(str(p))
    env = Environment(loader=PackageLoader("facelab", "report/templates"), autoescape=select_autoescape(["html"]))
    refs = references()
    for sec in sections:
        sec["published"] = refs.get("published", {}).get(sec["stage"], [])
        sec["peers"] = {name: info for name, info in refs.get("peers", {}).items()
                        if any(m["model"] == name for m in stages.get(sec["stage"], {}).get("metrics", []))}
    html = env.get_template("index.html").render(
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"), sections=sections, results_href=href,
        bench=status["notebooks"], data_home=status.get("data_home"), fmt=_fmt, problems=every,
        summary=summary_rows(stages, refs), environment=_environment(stages), datasets=_datasets())
    replace_text(out, html)
    if problems is not None:
        problems += every
    return out


def _publishable(results: Path, why: str) -> dict[str, dict]:
    """The stages whose results file was read without any problem: the README and the model cards never take
    tables from a damaged file (the stage keeps its earlier tables, and the reason is warned about)."""
    stages, found = read_results(results)
    for p in found:
        _warn(f"{p}; {why}")
    return {k: v for k, v in stages.items() if k not in {p.stage for p in found}}


def results_markdown(results: str | Path | None = None, skip: tuple[str, ...] = (),
                     only: tuple[str, ...] | None = None) -> str:
    """Markdown tables of every metric (for the README and the model cards), generated from the results files:
    per stage, one table per (data set, split), a row per model and a column per metric, the best value in bold;
    ``only`` keeps just those stages."""
    results = Path(results) if results else reports_dir() / "results"
    return _markdown(read_results(results)[0], skip, only)


def _markdown(stages: dict[str, dict], skip: tuple[str, ...] = (), only: tuple[str, ...] | None = None) -> str:
    out = []
    for s in sorted(stages.values(), key=lambda r: stage_sort_key(r["stage"])):
        if s["stage"] in skip or (only is not None and s["stage"] not in only):
            continue
        groups: "OrderedDict[tuple, list]" = OrderedDict()
        for m in s.get("metrics", []):
            groups.setdefault((m.get("dataset", ""), m.get("split", "")), []).append(m)
        if not groups:
            continue
        out.append(f"**{s['stage']}** ({s.get('profile', '?')} profile, {s.get('created', '?')})")
        for (dataset, split), ms in groups.items():
            t = metric_table(ms)
            out.append(f"\n_{dataset}, {split}_\n")
            if t["long"] is not None:
                out += ["| model | metric | value |", "|---|---|---|"]
                out += [f"| {r['model']}{' (baseline)' if r['baseline'] else ''} | {r['metric']} | {r['value']} |"
                        for r in t["long"]]
                continue
            out.append("| model | " + " | ".join(c["metric"] for c in t["columns"]) + " |")
            out.append("|---" * (len(t["columns"]) + 1) + "|")
            for r in t["rows"]:
                cells = [f"**{c['text']}**" if c["best"] else c["text"] for c in r["cells"]]
                out.append(f"| {r['model']}{' (baseline)' if r['baseline'] else ''} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"
#: stages the README leaves to the report: the data counts, the smoke run, and the claims (hundreds of rows, shown
#: with their figures in the report's claims section)
README_SKIP = ("data", "quickstart", "claims")


STAGE_HEADING = re.compile(r"^\*\*([a-z_]+)\*\* \(", re.MULTILINE)


def update_readme(readme: str | Path = "README.md", results: str | Path | None = None) -> Path:
    """Replace the README's results section with the tables generated from the results files. A stage that has no
    results file here keeps the tables it had (each stage's heading names its own profile and run date), so a bench
    run of some stages, or a fresh clone, does not erase the others."""
    from ..errors import BadInputError

    readme = Path(readme)
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise BadInputError(readme, f"no {README_START} ... {README_END} markers to write the results table between")
    head, rest = text.split(README_START, 1)
    old, tail = rest.split(README_END, 1)
    skip = README_SKIP
    blocks = _stage_blocks(old)
    results = Path(results) if results else reports_dir() / "results"
    blocks.update(_stage_blocks(_markdown(_publishable(results, "the README keeps that stage's earlier tables"),
                                          skip=skip)))
    body = "\n".join(blocks[st] for st in sorted(blocks, key=stage_sort_key) if st not in skip)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    note = (f"\n_Generated by `facelab report --update-readme` at {stamp} from reports/results/*.json "
            "(a stage without a results file keeps its earlier tables)._\n\n")
    replace_text(readme, head + README_START + note + body + "\n" + README_END + tail)
    return readme


def _stage_blocks(markdown: str) -> "OrderedDict[str, str]":
    """The markdown of a results section cut at each ``**stage** (`` heading: stage name -> its tables."""
    starts = [(m.start(), m.group(1)) for m in STAGE_HEADING.finditer(markdown)]
    return OrderedDict((name, markdown[a:b].rstrip("\n") + "\n")
                       for (a, name), (b, _) in zip(starts, starts[1:] + [(len(markdown), "")]))


CARD_START = re.compile(r"<!-- results:stage=([a-z_]+(?:,[a-z_]+)*) -->")


def update_cards(cards: str | Path | None = None, results: str | Path | None = None) -> list[Path]:
    """Rewrite the benchmark section of every model card (``facelab/weights/*.md``) that has a
    ``<!-- results:stage=NAME -->`` ... ``<!-- results:end -->`` pair, from that stage's results file, so a card
    never carries a hand-copied benchmark number. Cards whose stage has no results file are left as they are."""
    from ..errors import BadInputError

    cards = Path(cards) if cards else Path(__file__).resolve().parents[1] / "weights"
    results = Path(results) if results else reports_dir() / "results"
    have = _publishable(results, "model cards of that stage keep their tables")
    written = []
    for card in sorted(cards.glob("*.md")):
        text = card.read_text()
        m = CARD_START.search(text)
        if not m:
            continue
        if README_END not in text[m.end():]:
            raise BadInputError(card, f"{m.group(0)} has no {README_END} after it")
        stages = tuple(m.group(1).split(","))
        if not all(st in have for st in stages):
            continue
        tail = text[m.end():].split(README_END, 1)[1]
        made = ", ".join(f"{st}.json ({have[st].get('profile', '?')} profile, {have[st].get('created', '?')})"
                         for st in stages)
        body = (f"\n_Generated by `facelab report --update-cards` from reports/results/{made}._\n\n"
                + _markdown(have, only=stages) + "\n")
        replace_text(card, text[:m.end()] + body + README_END + tail)
        written.append(card)
    return written
