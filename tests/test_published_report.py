"""The published full-profile run (reports/full, committed): complete, in the full profile, small enough to keep in
git, and the source of the README's results tables."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from facelab.report.publish import MAX_PUBLISHED_BYTES, PUBLISHED_DIR, publishable_records

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "reports" / PUBLISHED_DIR


def test_the_published_run_is_one_finished_full_profile_run_of_every_notebook():
    records = publishable_records(PUBLISHED)  # raises, naming the notebook, on a quick, failed or incomplete run
    assert [r["notebook"] for r in records] == sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    size = sum(p.stat().st_size for p in PUBLISHED.rglob("*") if p.is_file())
    assert size <= MAX_PUBLISHED_BYTES
    html = (PUBLISHED / "index.html").read_text()
    for r in records:
        assert f'href="{r["executed_html"]}"' in html


def test_the_readme_tables_are_the_published_run():
    from facelab.report.render import README_END, README_SKIP, README_START, _markdown, _publishable, _stage_blocks

    text = (ROOT / "README.md").read_text()
    readme = _stage_blocks(text.split(README_START, 1)[1].split(README_END, 1)[0])
    published = _stage_blocks(_markdown(_publishable(PUBLISHED / "results", ""), skip=README_SKIP))
    assert published and set(readme) == set(published)
    for stage, block in published.items():
        assert readme[stage] == block, f"README's {stage} tables are not the published run's: run `facelab report --update-readme` on it"
    history = json.loads((PUBLISHED / "results" / "_bench.json").read_text())
    assert {r["profile"] for r in history["notebooks"]} == {"full"}
