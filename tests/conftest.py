"""Shared fixtures: the real data sets under the data home, and one quick bench run for the whole session.

Tiers, from the fixtures a test uses (so a file runs alone, and only the tests that need the bench start it):
``bench`` (uses ``bench_run``: every notebook through papermill, minutes), ``data`` (uses ``data_home``: the real
data sets, skipped when they are missing), ``unit`` (everything else: synthetic or tiny inputs, seconds).
``pytest -m unit``, ``pytest -m "not bench"``."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "bench_run" in item.fixturenames:
            item.add_marker(pytest.mark.bench)
        elif "data_home" in item.fixturenames:
            item.add_marker(pytest.mark.data)
        elif not item.get_closest_marker("bench") and not item.get_closest_marker("data"):
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session")
def data_home() -> Path:
    """The data home (facelab.config's one rule); the tests that need it are skipped when the data sets are not
    there, with where facelab looked and why."""
    from facelab.config import data_home_rule

    home, rule = data_home_rule()
    if not (home / "orl_att_faces").exists():
        pytest.skip(f"the data sets are not at {home} (chosen by: {rule}): set FACELAB_DATA")
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
