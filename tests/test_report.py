"""The report: metric tables pivoted by model, best cells marked, Markdown table for the README."""
from __future__ import annotations

from facelab.evaluation.results import ResultsWriter
from facelab.report import render_report, results_markdown
from facelab.report.render import metric_table


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
