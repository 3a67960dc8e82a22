"""`facelab bench`: every notebook runs in the quick profile, results and report are written, failures keep old results."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from facelab.evaluation.results import ResultsWriter, load_results
from facelab.bench.runner import discover_notebooks, run_bench, stage_of
from facelab.config import notebooks_dir

STAGES = {"quickstart", "data", "detection", "features", "recognition", "expression", "emotion"}


@pytest.mark.bench
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


@pytest.mark.bench
def test_report_shows_every_stage(bench_run):
    html = (bench_run["reports"] / "index.html").read_text()
    assert set(bench_run["results"]) == {stage_of(nb) for nb in discover_notebooks()} >= STAGES
    for stage, res in bench_run["results"].items():
        assert f'id="{stage}"' in html and res["title"] in html
        assert res["profile"] == "quick"
    assert "data:image/png;base64," in html


@pytest.mark.bench
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


@pytest.mark.unit
def test_notebooks_are_stored_clean():
    notebooks = discover_notebooks()
    assert {stage_of(nb) for nb in notebooks} >= STAGES  # an empty or partial list must not pass the loop below
    for nb_path in notebooks:
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


@pytest.mark.unit
def test_failure_names_notebook_and_cell_and_keeps_old_results(tmp_path, monkeypatch):
    nbs, reports = tmp_path / "notebooks", tmp_path / "reports"
    nbs.mkdir()
    _notebook(nbs / "01_good.ipynb", "from facelab.evaluation import ResultsWriter\n"
                                    "ResultsWriter('good', profile=profile, out_dir=results_dir).add('m', 'acc', 0.5, 'test', 'x').write()")
    _notebook(nbs / "02_broken.ipynb", "raise RuntimeError('cell exploded on purpose')")
    _notebook(nbs / "03_needsdata.ipynb", "print('never runs')", requires=["fer2013"])
    old = ResultsWriter("broken", profile="quick", out_dir=reports / "results").add("m", "acc", 0.9, "test", "x").write()
    monkeypatch.setenv("FACELAB_DATA", str(tmp_path / "no-data"))
    summary = run_bench(notebooks=nbs, reports=reports, progress=False)
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
    assert not (reports / ".staging").exists()


@pytest.mark.unit
def test_unknown_stage_is_a_clear_error():
    from facelab.errors import FacelabError

    with pytest.raises(FacelabError, match="unknown stage"):
        run_bench(stages=["nonsense"], notebooks=notebooks_dir(), progress=False)


WRITE_GOOD = ("from facelab.evaluation import ResultsWriter\n"
              "ResultsWriter({stage!r}, profile=profile, out_dir=results_dir)"
              ".add('m', 'acc', {value}, 't', 'x').write()")


@pytest.mark.unit
def test_a_second_bench_during_a_run_does_not_touch_its_staging(tmp_path):
    """Two benches at once: the first notebook starts a second bench of a notebook with the same name, into the same
    reports folder, and then needs its own staging folder to be intact (a shared .staging/<stem> was wiped by it)."""
    reports, first, second = tmp_path / "reports", tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _notebook(second / "01_same.ipynb", WRITE_GOOD.format(stage="second", value=0.2))
    _notebook(first / "01_same.ipynb",
              "import os\n"
              "from facelab.bench.runner import run_bench\n"
              f"inner = run_bench(notebooks={str(second)!r}, reports={str(reports)!r}, report=False, progress=False)\n"
              "assert inner['this_run'][0]['status'] == 'ok', inner\n"
              "assert os.path.isdir(results_dir), 'the other bench removed this staging folder'\n"
              + WRITE_GOOD.format(stage="first", value=0.1))
    summary = run_bench(notebooks=first, reports=reports, progress=False)
    assert summary["this_run"][0]["status"] == "ok", summary["this_run"]
    assert set(load_results(reports / "results")) == {"first", "second"}
    assert not (reports / ".staging").exists()


@pytest.mark.unit
def test_bench_lock_refuses_a_second_holder(tmp_path):
    """While one bench moves outputs into place, another process cannot take the lock."""
    import fcntl

    from facelab.bench.runner import LOCK_FILE, bench_lock

    with bench_lock(tmp_path):
        with open(tmp_path / LOCK_FILE) as other:  # a second open file description, as another process has
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(tmp_path / LOCK_FILE) as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released afterwards


def _earlier_data(reports):
    w = ResultsWriter("data", profile="quick", out_dir=reports / "results")
    for k in range(31):
        w.add("orl_att_faces", f"count {k}", k, "all", "orl_att_faces")
    return w.write()


@pytest.mark.unit
def test_run_without_data_is_skipped_and_keeps_the_earlier_results(tmp_path, monkeypatch):
    """`facelab bench --stages data` with a mistyped FACELAB_DATA: the data notebook finds nothing, writes no metric;
    that is a skip with the reason, never an "ok" that replaces data.json (31 metrics) with an empty one."""
    nbs, reports = tmp_path / "notebooks", tmp_path / "reports"
    nbs.mkdir()
    _notebook(nbs / "01_data.ipynb", "from facelab.evaluation import ResultsWriter\n"
                                     "w = ResultsWriter('data', profile=profile, out_dir=results_dir)\n"
                                     "w.mark_unavailable('orl_att_faces', 'not found at /typo/orl_att_faces')\n"
                                     "w.write()")
    _notebook(nbs / "02_raises.ipynb", "from facelab.errors import DatasetNotFoundError\n"
                                       "raise DatasetNotFoundError('lfw', '/typo/lfw', 'Download it from X.')")
    old = _earlier_data(reports)
    ResultsWriter("raises", profile="quick", out_dir=reports / "results").add("m", "acc", 0.7, "t", "x").write()
    monkeypatch.setenv("FACELAB_DATA", str(tmp_path / "typo"))
    summary = run_bench(notebooks=nbs, reports=reports, progress=False)
    status = {r["notebook"]: r for r in summary["this_run"]}
    assert [r["status"] for r in summary["this_run"]] == ["skipped", "skipped"]
    data = status["01_data.ipynb"]["reason"]
    assert "no metrics" in data and "orl_att_faces" in data and "typo" in data and "FACELAB_DATA" in data
    assert "lfw" in status["02_raises.ipynb"]["reason"] and "Download it from X." in status["02_raises.ipynb"]["reason"]
    results = load_results(reports / "results")
    assert len(results["data"]["metrics"]) == 31 and json.loads(old.read_text())["metrics"][30]["value"] == 30
    assert results["raises"]["metrics"][0]["value"] == 0.7
    assert (reports / "executed" / "01_data.skipped.ipynb").exists()
    assert not (reports / "executed" / "01_data.ipynb").exists()


@pytest.mark.unit
def test_run_that_writes_no_results_file_is_a_failure(tmp_path):
    nbs, reports = tmp_path / "notebooks", tmp_path / "reports"
    nbs.mkdir()
    _notebook(nbs / "01_silent.ipynb", "print('forgot to write results')")
    summary = run_bench(notebooks=nbs, reports=reports, report=False, progress=False)
    assert summary["ok"] is False
    assert "wrote no results file" in summary["this_run"][0]["error"]


def _bench_with_history(tmp_path, monkeypatch, history: bytes):
    """A bench of one notebook (skipped before any kernel starts, so it is quick) over a given _bench.json."""
    nbs, reports = tmp_path / "notebooks", tmp_path / "reports"
    nbs.mkdir()
    _notebook(nbs / "03_needsdata.ipynb", "print('never runs')", requires=["fer2013"])
    (reports / "results").mkdir(parents=True)
    (reports / "results" / "_bench.json").write_bytes(history)
    monkeypatch.setenv("FACELAB_DATA", str(tmp_path / "no-data"))
    summary = run_bench(notebooks=nbs, reports=reports, progress=False)
    return summary, json.loads((reports / "results" / "_bench.json").read_text()), reports


@pytest.mark.unit
def test_history_holding_a_list_does_not_crash_the_bench(tmp_path, monkeypatch, capsys):
    summary, history, reports = _bench_with_history(tmp_path, monkeypatch, b"[]")
    assert [r["notebook"] for r in history["notebooks"]] == ["03_needsdata.ipynb"]
    err = capsys.readouterr().err
    assert "_bench.json" in err and "list" in err
    assert "03_needsdata.ipynb" in (reports / "index.html").read_text()


@pytest.mark.unit
def test_damaged_history_keeps_the_good_records_and_names_the_file(tmp_path, monkeypatch, capsys):
    old = {"notebooks": [{"notebook": "01_data.ipynb", "status": "ok", "seconds": 3.0}, 42, {"no": "name"}]}
    summary, history, reports = _bench_with_history(tmp_path, monkeypatch, json.dumps(old).encode())
    assert [r["notebook"] for r in history["notebooks"]] == ["01_data.ipynb", "03_needsdata.ipynb"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "_bench.json" in err[0] and "2 run record(s)" in err[0]
    assert json.loads((reports / "results" / "_bench.json.bad").read_text()) == old


@pytest.mark.unit
def test_garbage_history_is_named_and_kept_aside(tmp_path, monkeypatch, capsys):
    summary, history, reports = _bench_with_history(tmp_path, monkeypatch, b"\x89\x00\xffnot json")
    assert [r["notebook"] for r in history["notebooks"]] == ["03_needsdata.ipynb"]
    err = capsys.readouterr().err
    assert "_bench.json: unreadable run history" in err
    assert (reports / "results" / "_bench.json.bad").read_bytes() == b"\x89\x00\xffnot json"


@pytest.mark.unit
def test_a_full_run_resumes_stage_by_stage_and_reruns_when_asked_or_changed(tmp_path):
    """--profile full skips a notebook that finished earlier, unchanged, with its results there; --rerun, an edited
    notebook or a lost results file runs it again; the history keeps the run that made the results."""
    nbs, reports = tmp_path / "notebooks", tmp_path / "reports"
    nbs.mkdir()
    make = ("from facelab.evaluation import ResultsWriter\nimport time\n"
            "ResultsWriter('{0}', profile=profile, out_dir=results_dir).add('m', 'ran_at', time.time(), 't', 'x').write()")
    _notebook(nbs / "01_one.ipynb", make.format("one"))
    _notebook(nbs / "02_two.ipynb", make.format("two"))
    status = lambda s: {r["notebook"]: r["status"] for r in s["this_run"]}
    first = run_bench(profile="full", notebooks=nbs, reports=reports, report=False, progress=False)
    assert status(first) == {"01_one.ipynb": "ok", "02_two.ipynb": "ok"}
    ran = load_results(reports / "results")["one"]["metrics"][0]["value"]
    again = run_bench(profile="full", notebooks=nbs, reports=reports, report=False, progress=False)
    assert status(again) == {"01_one.ipynb": "done", "02_two.ipynb": "done"}
    assert load_results(reports / "results")["one"]["metrics"][0]["value"] == ran
    third = run_bench(profile="full", notebooks=nbs, reports=reports, report=False, progress=False)
    assert status(third) == {"01_one.ipynb": "done", "02_two.ipynb": "done"}   # the history still says ok
    _notebook(nbs / "02_two.ipynb", make.format("two") + "\n# edited")
    (reports / "results" / "one.json").unlink()
    fourth = run_bench(profile="full", notebooks=nbs, reports=reports, report=False, progress=False)
    assert status(fourth) == {"01_one.ipynb": "ok", "02_two.ipynb": "ok"}
    forced = run_bench(profile="full", notebooks=nbs, reports=reports, report=False, progress=False, resume=False)
    assert status(forced) == {"01_one.ipynb": "ok", "02_two.ipynb": "ok"}
    quick = run_bench(profile="quick", notebooks=nbs, reports=reports, report=False, progress=False)
    assert status(quick) == {"01_one.ipynb": "ok", "02_two.ipynb": "ok"}   # quick reruns unless --resume


def test_a_bench_stopped_mid_run_resumes_after_its_last_finished_notebook(tmp_path, monkeypatch):
    """Each notebook's record reaches the history as soon as it finishes: a full run killed during its second
    notebook (here: the second raises KeyboardInterrupt, as a kill or the end of a session would stop it) is resumed
    without running the first again."""
    import facelab.bench.runner as runner

    nbs, reports = tmp_path / "notebooks", tmp_path / "reports"
    nbs.mkdir()
    make = "from facelab.evaluation import ResultsWriter\nResultsWriter('{0}', profile=profile, out_dir=results_dir).add('m', 'a', 1.0, 't', 'x').write()"
    _notebook(nbs / "01_one.ipynb", make.format("one"))
    _notebook(nbs / "02_two.ipynb", make.format("two"))
    real = runner.run_notebook

    def stopped_at_the_second(nb, *a, **kw):
        if nb.name == "02_two.ipynb":
            raise KeyboardInterrupt
        return real(nb, *a, **kw)

    monkeypatch.setattr(runner, "run_notebook", stopped_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        run_bench(profile="full", notebooks=nbs, reports=reports, report=False, progress=False)
    monkeypatch.setattr(runner, "run_notebook", real)
    resumed = run_bench(profile="full", notebooks=nbs, reports=reports, report=False, progress=False)
    assert {r["notebook"]: r["status"] for r in resumed["this_run"]} == {"01_one.ipynb": "done", "02_two.ipynb": "ok"}
