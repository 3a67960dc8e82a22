"""`facelab bench`: every notebook runs in the quick profile, results and report are written, failures keep old results."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from facelab.evaluation.results import ResultsWriter, load_results
from facelab.bench.runner import discover_notebooks, run_bench
from facelab.config import notebooks_dir


def test_every_notebook_runs_in_quick_profile(bench_run):
    summary = bench_run["summary"]
    failed = [r for r in summary["this_run"] if r["status"] != "ok"]
    assert not failed, failed
    names = [r["notebook"] for r in summary["this_run"]]
    assert names == [nb.name for nb in discover_notebooks()]
    reports = bench_run["reports"]
    for r in summary["this_run"]:
        assert (reports / r["executed_html"]).exists()
        assert (reports / "executed" / r["notebook"]).exists()
    assert json.loads((reports / "results" / "_bench.json").read_text())["ok"] is True


def test_report_shows_every_stage(bench_run):
    html = (bench_run["reports"] / "index.html").read_text()
    for stage, res in bench_run["results"].items():
        assert f'id="{stage}"' in html and res["title"] in html
        assert res["profile"] == "quick"
    assert "data:image/png;base64," in html


def test_data_notebook_counts_match_the_loaders(bench_run):
    data = bench_run["results"]["data"]
    value = {(m["model"], m["metric"]): m["value"] for m in data["metrics"]}
    assert value[("orl_att_faces", "images")] == 400
    assert value[("lfw", "images of people with >= 70")] == 1288
    assert value[("fer2013", "Training copies of PublicTest images")] == 351
    assert value[("cmu_mit_frontal_faces", "faces")] == 326
    assert data["environment"]["packages"]["tensorflow"]
    assert set(data["environment"]["settings"]) >= {"TF_NUM_INTEROP_THREADS", "FACELAB_PRECISION"}
    assert len(data["figures"]) >= 5


def test_notebooks_are_stored_clean():
    for nb_path in discover_notebooks():
        nb = nbformat.read(nb_path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs for c in code), f"{nb_path.name} stored with outputs"
        assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1, nb_path.name
        params = next(c.source for c in code if "parameters" in c.metadata.get("tags", []))
        assert "profile" in params and "results_dir" in params
        assert "stage" in nb.metadata.get("facelab", {})


def _notebook(path, source, requires=()):
    nb = new_notebook()
    params = new_code_cell("profile = 'quick'\nresults_dir = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["facelab"] = {"stage": path.stem.split("_", 1)[1], "requires": list(requires)}
    nbformat.write(nb, path)


def test_failure_names_notebook_and_cell_and_keeps_old_results(tmp_path):
    nbs, reports = tmp_path / "notebooks", tmp_path / "reports"
    nbs.mkdir()
    _notebook(nbs / "01_good.ipynb", "from facelab.evaluation import ResultsWriter\n"
                                    "ResultsWriter('good', profile=profile, out_dir=results_dir).add('m', 'acc', 0.5, 'test', 'x').write()")
    _notebook(nbs / "02_broken.ipynb", "raise RuntimeError('cell exploded on purpose')")
    _notebook(nbs / "03_needsdata.ipynb", "print('never runs')", requires=["fer2013"])
    old = ResultsWriter("broken", profile="quick", out_dir=reports / "results").add("m", "acc", 0.9, "test", "x").write()
    import os

    saved = os.environ.get("FACELAB_DATA")
    os.environ["FACELAB_DATA"] = str(tmp_path / "no-data")
    try:
        summary = run_bench(notebooks=nbs, reports=reports, progress=False)
    finally:
        os.environ["FACELAB_DATA"] = saved
    status = {r["notebook"]: r for r in summary["this_run"]}
    assert summary["ok"] is False
    assert status["01_good.ipynb"]["status"] == "ok"
    assert status["02_broken.ipynb"]["status"] == "failed"
    assert "02_broken.ipynb: cell" in status["02_broken.ipynb"]["error"]
    assert "cell exploded on purpose" in status["02_broken.ipynb"]["error"]
    assert status["03_needsdata.ipynb"]["status"] == "skipped"
    assert "fer2013" in status["03_needsdata.ipynb"]["reason"] and "Kaggle" in status["03_needsdata.ipynb"]["reason"]
    results = load_results(reports / "results")
    assert results["broken"]["metrics"][0]["value"] == 0.9  # the old result survived the failed run
    assert json.loads(old.read_text())["metrics"][0]["value"] == 0.9
    assert results["good"]["metrics"][0]["value"] == 0.5
    html = (reports / "index.html").read_text()
    assert "cell exploded on purpose" in html and "skipped" in html and "Kaggle" in html
    assert (reports / "executed" / "02_broken.failed.html").exists()
    assert not (reports / ".staging" / "02_broken").exists()


def test_unknown_stage_is_a_clear_error():
    from facelab.errors import FacelabError

    with pytest.raises(FacelabError, match="unknown stage"):
        run_bench(stages=["nonsense"], notebooks=notebooks_dir(), progress=False)
