"""The report: metric tables pivoted by model, best cells marked, Markdown table for the README."""
from __future__ import annotations

import base64
import json
import os

import pytest

from facelab.evaluation.results import ResultsWriter, read_results
from facelab.report import render_report, results_markdown
from facelab.report.render import metric_table

pytestmark = pytest.mark.unit


def test_metric_table_marks_best_respecting_direction():
    ms = [{"model": "a", "metric": "acc", "value": 0.9, "split": "t", "dataset": "d"},
          {"model": "b", "metric": "acc", "value": 0.8, "split": "t", "dataset": "d", "baseline": True},
          {"model": "a", "metric": "s/img", "value": 0.5, "split": "t", "dataset": "d", "higher_is_better": False},
          {"model": "b", "metric": "s/img", "value": 0.2, "split": "t", "dataset": "d", "higher_is_better": False}]
    t = metric_table(ms)
    assert [c["metric"] for c in t["columns"]] == ["acc", "s/img"]
    best = {(r["model"], i) for r in t["rows"] for i, c in enumerate(r["cells"]) if c["best"]}
    assert best == {("a", 0), ("b", 1)}


def test_render_from_written_results(tmp_path):
    w = ResultsWriter("detection", "Detection", profile="full", out_dir=tmp_path)
    w.add("cnn", "AP@0.3", 0.951, "A+B", "cmu").add("haar", "AP@0.3", 0.851, "A+B", "cmu", baseline=True)
    w.mark_unavailable("deepface-retinaface", "weights cannot be downloaded here")
    w.note("Sequences are simulated.")
    w.write()
    (tmp_path / "junk.json").write_text("{not json")
    out = render_report(results=tmp_path, out=tmp_path / "index.html")
    html = out.read_text()
    assert "0.951" in html and "(baseline)" in html and "weights cannot be downloaded here" in html
    assert "Sequences are simulated." in html and "data:image/png;base64," in html
    md = results_markdown(tmp_path)
    assert "| cnn | **0.951** |" in md and "| haar (baseline) | 0.851 |" in md and "_cmu, A+B_" in md


def test_render_without_results(tmp_path):
    html = render_report(results=tmp_path / "none", out=tmp_path / "index.html").read_text()
    assert "No results yet" in html and "facelab bench" in html


def test_update_cards_rewrites_only_marked_cards_from_their_stage(tmp_path):
    from facelab.report import update_cards

    w = ResultsWriter("detection", "Detection", profile="full", out_dir=tmp_path / "results")
    w.add("cnn", "AP@0.3", 0.951, "A+B", "cmu").write()
    cards = tmp_path / "cards"
    cards.mkdir()
    marked = cards / "det.md"
    marked.write_text("# card\n<!-- results:stage=detection -->\nold 0.123\n<!-- results:end -->\n## Retrain\n")
    other = cards / "expr.md"
    other.write_text("# expr\n<!-- results:stage=expression -->\nkept\n<!-- results:end -->\n")
    plain = cards / "plain.md"
    plain.write_text("# no markers\n")
    assert update_cards(cards, tmp_path / "results") == [marked]
    text = marked.read_text()
    assert "0.123" not in text and "| cnn | 0.951 |" in text and text.endswith("## Retrain\n")
    assert "kept" in other.read_text() and plain.read_text() == "# no markers\n"


def test_update_readme_replaces_stages_with_results_and_keeps_the_others(tmp_path):
    from facelab.report import update_readme

    readme = tmp_path / "README.md"
    readme.write_text("# top\n<!-- results:start -->\n_old stamp_\n\n**detection** (full profile, day 1)\n\n"
                      "| haar | 0.851 |\n\n**expression** (full profile, day 1)\n\n| cnn | 0.600 |\n"
                      "<!-- results:end -->\n## after\n")
    w = ResultsWriter("expression", "Expression", profile="full", out_dir=tmp_path / "results")
    w.add("cnn", "accuracy", 0.673, "PublicTest", "fer2013").write()
    ResultsWriter("features", "Features", profile="quick", out_dir=tmp_path / "results").add(
        "pca", "acc", 0.5, "view1", "lfw").write()
    text = update_readme(readme, tmp_path / "results").read_text()
    assert "| haar | 0.851 |" in text and "| cnn | 0.600 |" not in text and "| cnn | 0.673 |" in text
    order = [text.index(f"**{st}**") for st in ("detection", "features", "expression")]
    assert order == sorted(order) and text.startswith("# top\n") and text.endswith("<!-- results:end -->\n## after\n")
    assert "_old stamp_" not in text and not (tmp_path / "README.tmp").exists()


def _two_stages(folder):
    """detection (good) and expression (to be damaged by the test)."""
    ResultsWriter("detection", "Detection", profile="full", out_dir=folder).add("cnn", "AP@0.3", 0.951, "A+B",
                                                                                 "cmu").write()
    return ResultsWriter("expression", "Facial expression", profile="full", out_dir=folder).add(
        "cnn", "accuracy", 0.6771, "PublicTest", "fer2013").write()


def _render(folder, capsys):
    problems = []
    html = render_report(results=folder, out=folder / "index.html", problems=problems).read_text()
    return html, problems, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("damage", ["binary", "truncated"])
def test_unreadable_results_file_is_named_and_its_stage_shown_unreadable(tmp_path, capsys, damage):
    f = _two_stages(tmp_path)
    text = f.read_bytes()
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" if damage == "binary" else text[:len(text) // 2])
    html, problems, err = _render(tmp_path, capsys)
    assert len(err) == 1 and "expression.json" in err[0] and "unreadable" in err[0]
    assert [(p.file.name, p.stage) for p in problems] == [("expression.json", "expression")]
    assert 'id="expression"' in html and "Results unreadable" in html and "expression.json" in html
    assert "0.677" not in html and "0.951" in html  # nothing shown for the damaged stage, the other one intact


def test_metric_without_a_name_is_left_out_and_named(tmp_path, capsys):
    f = _two_stages(tmp_path)
    data = json.loads(f.read_text())
    data["metrics"].append({"model": "lstm", "value": 0.5, "split": "PublicTest", "dataset": "fer2013"})
    f.write_text(json.dumps(data))
    html, problems, err = _render(tmp_path, capsys)
    assert [p.reason for p in problems] == ["metric 2 has no 'metric'; left out"]
    assert len(err) == 1 and "expression.json: metric 2 has no 'metric'" in err[0]
    assert "0.677" in html and "metric 2 has no" in html and "lstm" not in html


def test_read_results_returns_problems_and_the_readable_stages(tmp_path):
    _two_stages(tmp_path)
    (tmp_path / "notes.json").write_text("[1, 2]")
    (tmp_path / "old.json").write_text(json.dumps({"schema": 0, "stage": "old"}))
    (tmp_path / "_bench.json").write_text("[]")  # the run history is not a results file
    stages, problems = read_results(tmp_path)
    assert set(stages) == {"detection", "expression"}
    assert {p.file.name: p.stage for p in problems} == {"notes.json": "notes", "old.json": "old"}
    assert all("unreadable" in str(p) for p in problems)


def test_figure_outside_the_results_folder_is_never_embedded(tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    secret = b"\x89PNG\r\n\x1a\nSECRET-BYTES"
    (tmp_path / "secret.png").write_bytes(secret)
    w = ResultsWriter("detection", "Detection", out_dir=results).add("cnn", "AP", 0.9, "A+B", "cmu")
    (results / "detection_ok.png").write_bytes(b"\x89PNG\r\n\x1a\nINSIDE")
    os.symlink(tmp_path / "secret.png", results / "detection_link.png")
    w.figures = [{"file": "../secret.png", "caption": "dotdot"}, {"file": str(tmp_path / "secret.png")},
                 {"file": "../../../../etc/passwd"}, {"file": "detection_link.png"},
                 {"file": "detection_ok.png", "caption": "fine"}]
    w.write()
    html, problems, err = _render(results, capsys)
    assert base64.b64encode(secret).decode() not in html and "cm9vd" not in html  # "root:" of /etc/passwd
    assert base64.b64encode(b"\x89PNG\r\n\x1a\nINSIDE").decode() in html
    assert len(problems) == 4 and all("outside the results folder" in p.reason for p in problems), problems
    assert len(err) == 4 and "passwd" in html


def test_damaged_stage_keeps_its_earlier_readme_and_card_tables(tmp_path, capsys):
    from facelab.report import update_cards, update_readme

    results = tmp_path / "results"
    _two_stages(results).write_text('{"schema": 1, "stage": "expression", "metr')
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:start -->\n**expression** (full profile, day 1)\n\n| cnn | 0.600 |\n"
                      "<!-- results:end -->\n")
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "expr.md").write_text("<!-- results:stage=expression -->\nkept 0.600\n<!-- results:end -->\n")
    text = update_readme(readme, results).read_text()
    assert "| cnn | 0.600 |" in text and "**detection**" in text
    assert update_cards(cards, results) == [] and "kept 0.600" in (cards / "expr.md").read_text()
    err = capsys.readouterr().err
    assert "expression.json" in err and "README keeps" in err and "cards" in err


def test_outputs_are_replaced_through_their_own_temporary_file(tmp_path):
    """index.html and the cards are renamed into place (a reader never sees half a file), through a temporary
    name of their own: a left-over or another writer's fixed-name index.tmp does not get in the way."""
    from facelab.report import update_cards

    _two_stages(tmp_path / "results")
    (tmp_path / "index.tmp").mkdir()
    out = tmp_path / "index.html"
    out.write_text("old")
    before = out.stat().st_ino
    render_report(results=tmp_path / "results", out=out)
    assert out.stat().st_ino != before and "0.951" in out.read_text()
    card = tmp_path / "cards" / "det.md"
    card.parent.mkdir()
    card.write_text("<!-- results:stage=detection -->\n<!-- results:end -->\n")
    card.chmod(0o664)
    before = card.stat().st_ino
    assert update_cards(card.parent, tmp_path / "results") == [card]
    assert card.stat().st_ino != before and card.stat().st_mode & 0o777 == 0o664
    assert sorted(p.name for p in card.parent.iterdir()) == ["det.md"]


def test_figures_are_fitted_to_the_page_and_the_full_size_file_is_linked(tmp_path):
    """A 2,400 px photo-like figure is embedded at most 1,000 px wide and smaller than the file; the page links
    the full-size PNG in the results folder."""
    import io

    import numpy as np
    from PIL import Image

    from facelab.report.render import PAGE_FIGURE_WIDTH, fit_for_page

    rng = np.random.default_rng(0)
    noisy = (rng.random((600, 2400, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, format="PNG")
    fitted = fit_for_page(buf.getvalue())
    assert len(fitted) < len(buf.getvalue())
    assert Image.open(io.BytesIO(fitted)).width <= PAGE_FIGURE_WIDTH
    small = io.BytesIO()
    Image.fromarray(noisy[:50, :80]).save(small, format="PNG")
    assert fit_for_page(small.getvalue()) == small.getvalue()      # a small figure is left as it is
    w = ResultsWriter("detection", "Detection", profile="full", out_dir=tmp_path / "results")
    w.add("cnn", "ap30", 0.9, "A+B", "cmu")
    (tmp_path / "results").mkdir(exist_ok=True)
    (tmp_path / "results" / "detection_wide.png").write_bytes(buf.getvalue())
    w.figures.append({"file": "detection_wide.png", "caption": "wide"})
    w.write()
    html = render_report(tmp_path / "results", tmp_path / "index.html").read_text()
    assert 'href="results/detection_wide.png"' in html


def _bench_reports(folder, profile="full", status="ok"):
    """A reports folder as `facelab bench` leaves it: one stage's results, its executed HTML, the run history."""
    from facelab.evaluation.results import STATUS_FILE

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = ResultsWriter("detection", "Detection", profile=profile, out_dir=folder / "results")
    fig = plt.figure(figsize=(2, 2))
    w.add("cnn", "AP@0.3", 0.951, "A+B", "cmu").figure(fig, "pr", "PR curves")
    plt.close(fig)
    w.write()
    (folder / "executed").mkdir(parents=True)
    (folder / "executed" / "02_detection.html").write_text("<html>executed</html>")
    old = {"notebook": "02_detection.ipynb", "profile": "quick", "status": "failed", "results": []}
    new = {"notebook": "02_detection.ipynb", "stage": "detection", "profile": profile, "status": status,
           "results": ["detection.json", "detection_pr.png"],
           "executed_html": "executed/02_detection.html", "seconds": 1.0}
    (folder / "results" / STATUS_FILE).write_text(json.dumps({"profile": profile, "notebooks": [old, new]}))
    return folder


def test_publish_copies_the_finished_full_run_with_its_own_report(tmp_path):
    from facelab.report.publish import publish_report

    reports = _bench_reports(tmp_path / "reports")
    pub = publish_report(reports, tmp_path / "published")
    out = tmp_path / "published"
    assert pub["notebooks"] == ["02_detection.ipynb"] and pub["files"] == 4 and not pub["too_large"]
    assert (out / "executed" / "02_detection.html").read_text() == "<html>executed</html>"
    history = json.loads((out / "results" / "_bench.json").read_text())
    assert [r["status"] for r in history["notebooks"]] == ["ok"]  # only the latest record per notebook
    html = (out / "index.html").read_text()
    assert "0.951" in html and 'href="executed/02_detection.html"' in html
    # the figure is embedded and its full size linked in the executed notebook, so its PNG is not kept twice
    assert "data:image/png;base64," in html and ">full size, in the notebook</a>" in html
    assert not list(out.rglob("*.png")) and history["notebooks"][0]["results"] == ["detection.json"]


@pytest.mark.parametrize("profile,status", [("quick", "ok"), ("full", "failed")])
def test_publish_refuses_a_quick_or_failed_run_and_keeps_the_earlier_one(tmp_path, profile, status):
    from facelab.errors import BadInputError
    from facelab.report.publish import publish_report

    out = tmp_path / "published"
    out.mkdir()
    (out / "index.html").write_text("earlier")
    reports = _bench_reports(tmp_path / "reports", profile=profile, status=status)
    with pytest.raises(BadInputError, match="02_detection.ipynb"):
        publish_report(reports, out)
    assert (out / "index.html").read_text() == "earlier" and sorted(p.name for p in tmp_path.iterdir()) == [
        "published", "reports"]


def test_report_publish_on_the_command_line(tmp_path, monkeypatch, capsys):
    from facelab.cli import main

    reports = _bench_reports(tmp_path / "reports")
    monkeypatch.setenv("FACELAB_REPORTS", str(reports))
    assert main(["report", "--publish", "--json"]) == 0   # no DIR: reports/full of the reports folder
    assert "1 notebooks" in json.loads(capsys.readouterr().out)["published"]
    assert (reports / "full" / "index.html").exists()
    assert main(["report", "--publish", str(tmp_path / "elsewhere")]) == 0
    assert (tmp_path / "elsewhere" / "executed" / "02_detection.html").exists()
