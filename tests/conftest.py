"""Shared fixtures: the real data sets in ../shared/datasets, and one quick bench run for the whole session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if "FACELAB_DATA" not in os.environ and (ROOT.parent / "shared" / "datasets").is_dir():
    os.environ["FACELAB_DATA"] = str(ROOT.parent / "shared" / "datasets")


@pytest.fixture(scope="session")
def data_home() -> Path:
    from facelab.config import data_home

    home = data_home()
    if not (home / "orl_att_faces").exists():
        pytest.fail(f"the shared data sets are not at {home}: set FACELAB_DATA")
    return home


@pytest.fixture(scope="session")
def bench_run(tmp_path_factory, data_home):
    """`facelab bench --profile quick` over every notebook, once per test session, into a temporary reports folder.

    Returns {"summary", "results": {stage: results dict}, "reports": Path}. Stage tests assert on their results.
    """
    from facelab.evaluation.results import load_results
    from facelab.bench.runner import run_bench

    reports = tmp_path_factory.mktemp("reports")
    summary = run_bench(profile="quick", reports=reports, progress=False)
    return {"summary": summary, "results": load_results(reports / "results"), "reports": reports}
