"""The application notebook's quick-profile results (from the shared `bench_run` fixture)."""
from __future__ import annotations


def _metrics(r, model, metric):
    return [m for m in r["metrics"] if m["model"] == model and m["metric"] == metric]


def test_application_results_json(bench_run):
    r = bench_run["results"].get("application")
    assert r is not None, f"no application results: {bench_run['summary']}"
    assert r["profile"] == "quick"
    assert all(m["split"] and m["dataset"] for m in r["metrics"])

    # open set: threshold chosen on split A, checked on split B; the shipped rule checked on split B only
    tar = {m["split"].split(":")[0]: m for m in _metrics(r, "cnn pipeline + gallery", "tar_at_far_1pct")}
    assert set(tar) == {"split A (choose)", "split B (check)"}
    assert "threshold from split A" in tar["split B (check)"]["split"]
    assert tar["split A (choose)"]["threshold"] == tar["split B (check)"]["threshold"]
    assert tar["split A (choose)"]["far_measured"] <= 0.01
    assert all(0 <= m["value"] <= 1 and m["genuine"] > 0 and m["impostor"] >= 100 for m in tar.values())
    shipped = _metrics(r, "cnn pipeline + gallery (shipped rule)", "tar_at_far_1pct") + \
        _metrics(r, "cnn pipeline + gallery (shipped rule)", "tar_at_far_0.1pct")
    assert len(shipped) == 2 and all(m["split"].startswith("split B (check)") and "pairsDevTrain" in m["split"]
                                     for m in shipped)
    # the per-comparison threshold is lower than a per-probe one chosen for the gallery, so it lets more strangers in
    far_shipped = _metrics(r, "cnn pipeline + gallery (shipped rule)", "far_at_far_1pct")[0]["value"]
    far_chosen = [m for m in _metrics(r, "cnn pipeline + gallery", "far_at_far_1pct") if m["split"].startswith("split B")]
    assert far_shipped > far_chosen[0]["value"]
    assert {row["split"] for row in r["tables"]["open_set"]} == {"A", "B"}

    # ORL: the detector misses part of the tight crops as they are, and finds them padded
    found = {m["metric"]: m["value"] for m in r["metrics"] if m["model"] == "cnn detector"}
    assert found["orl_face_found_rate_padded"] > found["orl_face_found_rate"]

    # View 1 through the pipeline and through the --crop path, with their splits
    for model in ("cnn pipeline (detector + framing)", "cnn --crop (LFW crop policy)"):
        (acc,) = _metrics(r, model, "view1_accuracy")
        assert acc["split"].startswith("pairsDevTest") and "threshold from pairsDevTrain" in acc["split"]
        assert 0.7 < acc["value"] <= 1

    # speed per stage and gallery timing
    stages = {m["model"] for m in r["metrics"] if m["metric"] == "ms_per_photo"}
    assert {"stage detect", "stage embed", "stage identify", "stage expression", "stage emotion"} <= stages
    assert all(m["value"] > 0 for m in r["metrics"] if m["metric"] == "photos_per_s")
    sizes = [row["embeddings"] for row in r["tables"]["gallery_timing"]]
    assert sizes == sorted(sizes) and sizes[-1] >= 10000
    kinds = {row["distractors"] for row in r["tables"]["accuracy_vs_gallery_size"]}
    assert kinds == {"random", "real faces"}

    files = {f["file"] for f in r["figures"]}
    assert {"application_open_set.png", "application_annotated_lfw.png", "application_view1_paths.png",
            "application_speed.png", "application_gallery_size.png"} <= files
    for f in files:
        assert (bench_run["reports"] / "results" / f).exists()
