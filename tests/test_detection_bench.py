"""The detection notebook's quick-profile results (from the shared `bench_run` fixture)."""
from __future__ import annotations


def test_detection_results_json(bench_run):
    r = bench_run["results"].get("detection")
    assert r is not None, f"no detection results: {bench_run['summary']}"
    assert r["profile"] == "quick"
    metrics = r["metrics"]
    models = {m["model"] for m in metrics}
    assert {"cnn", "rcnn", "haar", "haar-alt2", "ssd"} <= models
    # the test set and the validation split, each named: every choice was made on the second, never the first
    assert {m["dataset"] for m in metrics} == {"cmu_mit_frontal_faces", "detection validation split"}
    assert all(m["split"] for m in metrics)
    assert all(m["split"].startswith("test: ") for m in metrics if m["dataset"] == "cmu_mit_frontal_faces")
    assert {"cnn", "rcnn", "haar"} <= {m["model"] for m in metrics if m["dataset"] == "detection validation split"}
    total = {m["model"]: m["value"] for m in metrics if m["metric"] == "ap30" and m["split"].startswith("test: sets A+B")}
    assert all(0 <= v <= 1 for v in total.values())
    # the shipped CNN beats the Haar cascade on the quick subset too
    assert total["cnn"] > total["haar"]
    assert {m["metric"] for m in metrics} >= {"ap50", "ap30", "recall50_at_10fp", "recall50_at_167fp",
                                               "s_per_image", "mp_per_s"}
    assert {"benchmark", "speed", "hard_negative_rounds", "cnn_speed_fresh_processes"} <= set(r["tables"])
    # the CNN timed in a fresh process beside Haar alt2, as a user's runs it: one cold pass in the quick profile
    (cold,) = r["tables"]["cnn_speed_fresh_processes"]
    assert cold["pass"] == "first (cold)" and cold["n"] == 1 and cold["median"] > 0
    for f in r["figures"]:
        assert (bench_run["reports"] / "results" / f["file"]).exists()
    assert any(f["file"] == "detection_pr_curves.png" for f in r["figures"])
