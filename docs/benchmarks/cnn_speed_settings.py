"""The CNN detector's pyramid and cascade speed settings, swept together on the detection validation split, and
what the rule's choice gives a user at the operating threshold.

:func:`facelab.detection.train.calibrate_cnn` with ``speed_settings=CNN_SPEED_SETTINGS``: every (smallest face,
scale step) pair with every (stage-1 threshold, stage-1 peaks only, chained pyramid) setting, timed taking turns with
Haar alt2 image by image, on the validation split (never CMU+MIT). Of those within ``max_time_vs_haar_alt2``
(0.4x), ``--select-by operating_f1`` (the default) takes the fastest within 0.005 of the best F1 at IoU 0.5 at each
one's own operating threshold (``--threshold-tolerance``: the highest threshold within 0.005 of its best F1), among
those that leave at most 1 % of the LFW framing photos below without a face; ``--select-by ap30`` (the earlier
runs) the most accurate by AP@0.3. The shipped weights are not touched: the config the rule would choose is
written to ``--config-dir``. Then the shipped config and the chosen one, each through the registry detector on the
same validation photos:

- at the lowest threshold, AP@0.3 and AP@0.5;
- at its own operating threshold (on validation the highest within ``--threshold-tolerance`` of its best F1 at
  IoU 0.5, as a user's ``facelab detect`` runs it): F1,
  faces found, false boxes (no face at IoU 0.3 left for them: a false alarm or a second box on a face) and the
  photos that have them. AP also counts boxes far below the operating threshold, which a user never sees;
- on the 600 LFW photos the pipeline's framing is fitted on (:func:`facelab.pipeline.framing.framing_photos`: one
  large face each, people of the embedding's training identities; none of them in the detection test set), the
  photos where it reports no face at its operating threshold: a face the detector misses there is a face the
  pipeline cannot identify;
- timed as a user's process runs it: ``--runs`` fresh processes each
  (:func:`facelab.detection.speed.time_in_fresh_processes`, the validation photos written as PNG).

Run it on an idle machine: the rule's time ratio moves with the load. Prints and writes JSON.

    python docs/benchmarks/cnn_speed_settings.py [--out docs/benchmarks/results/cnn_speed_settings.json] [--runs 4]
        [--select-by operating_f1|ap30] [--threshold-tolerance 0.005]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: the config fields the sweep may change (and the operating threshold it refits)
SWEPT = ("min_face", "scale_step", "stage1_threshold", "stage1_peaks", "peak_size", "chained_pyramid", "min_score",
         "box", "containment")


def cnn_with(config: dict, min_score: float):
    """The registry CNN (its box map and clipping, as a user's) with ``config``'s swept fields."""
    from dataclasses import replace

    from facelab.detection.registry import get_detector

    det = get_detector("cnn", min_score=min_score)
    det.config = replace(det.config, **{k: config[k] for k in SWEPT})
    return det


def at_operating_point(config: dict, items) -> dict:
    """The registry CNN with ``config``'s swept fields on the validation photos: AP at the lowest threshold, and
    what its operating threshold reports."""
    from facelab.detection.metrics import _as_array, at_threshold, match_detections

    det = cnn_with(config, -1e9)
    dets = [_as_array(det.detect(it["image"])) for it in items]
    gts = [it["boxes"] for it in items]
    m = at_threshold(dets, gts, config["min_score"])
    at = [d[d[:, 4] >= config["min_score"]] for d in dets]
    _, tp30, _ = match_detections(at, gts, 0.3)
    false_photos = [it["name"] for it, d in zip(items, at) if not match_detections([d], [it["boxes"]], 0.3)[1].all()]
    found, reported, n = m["found_at_operating"], m["found_at_operating"] + m["false_boxes_at_operating"], m["faces"]
    return {"ap30": m["ap30"], "ap50": m["ap50"], "min_score": config["min_score"], "reported": reported, "faces": n,
            "found_iou50": found, "f1_iou50": round(float(2 * found / (reported + n)), 4),
            "false_boxes_iou30": int(len(tp30) - tp30.sum()), "photos_with_false_boxes": false_photos}


def lfw_photos_without_face(config: dict, photos) -> int:
    """Photos where the registry CNN with ``config``'s swept fields reports nothing at its operating threshold."""
    det = cnn_with(config, config["min_score"])
    return sum(not det.detect(im) for im in photos)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/benchmarks/results/cnn_speed_settings.json")
    parser.add_argument("--config-dir", default="runs/cnn_speed_settings",
                        help="where the config the rule chooses is written (default runs/cnn_speed_settings)")
    parser.add_argument("--runs", type=int, default=4, help="fresh timing processes per config (default 4)")
    parser.add_argument("--select-by", choices=("ap30", "operating_f1"), default="operating_f1",
                        help="calibrate_cnn's rule: AP@0.3, or F1 at IoU 0.5 at each setting's own operating "
                             "threshold with at most 1%% of the LFW framing photos left without a face (default)")
    parser.add_argument("--threshold-tolerance", type=float, default=0.005,
                        help="each operating threshold is the highest within this of its best F1 at IoU 0.5 (default "
                             "0.005, the shipped rule; 0: the best F1, as the runs before 2026-12-07's second)")
    args = parser.parse_args()
    import cv2

    from facelab.detection.cnn import CNNConfig, CNNDetector
    from facelab.detection.speed import ratio_spreads, time_in_fresh_processes
    from facelab.detection.train import CNN_SPEED_SETTINGS, calibrate_cnn
    from facelab.detection.validation import validation_set
    from facelab.pipeline.framing import framing_photos
    from facelab.preprocess import read_image

    shipped = CNNDetector.load().config
    lfw = [read_image(p, "bgr") for p in framing_photos(600)]
    result = calibrate_cnn(out_dir=args.config_dir, speed_settings=CNN_SPEED_SETTINGS, select_by=args.select_by,
                           large_face_photos=lfw if args.select_by == "operating_f1" else None,
                           threshold_tolerance=args.threshold_tolerance)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    chosen = CNNConfig.load(Path(args.config_dir) / "detection_cnn.json")
    configs = {"shipped": {k: getattr(shipped, k) for k in SWEPT}, "chosen": {k: getattr(chosen, k) for k in SWEPT}}
    items = validation_set()
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "load_average_1min_after_sweep": load,
           "threshold_tolerance": args.threshold_tolerance,
           **configs, **{k: result[k] for k in ("ap30_validation", "time_vs_haar_alt2_validation")},
           "at_operating_point_validation": {k: at_operating_point(c, items) for k, c in configs.items()}}
    if result["operating_point_validation"]:
        out["select_by"] = args.select_by
        out["operating_point_of_each_fast_setting_validation"] = result["operating_point_validation"]
    out["lfw_framing_photos_without_face"] = {k: lfw_photos_without_face(c, lfw) for k, c in configs.items()}
    out["lfw_framing_photos"] = len(lfw)
    with tempfile.TemporaryDirectory() as tmp:  # the child processes read photos from files
        paths = [str(Path(tmp) / f"{k:03d}.png") for k in range(len(items))]
        for p, it in zip(paths, items):
            cv2.imwrite(p, it["image"])
        runs = {k: [] for k in configs}
        for _ in range(args.runs):  # the configs take turns, so a change in load hits both alike
            for k, c in configs.items():
                runs[k] += time_in_fresh_processes("cnn", paths, runs=1, passes=2, config=c)["runs"]
    out["fresh_processes_validation"] = {
        k: dict(zip(("first_pass_x_haar_alt2", "later_passes_x_haar_alt2"), ratio_spreads(rows, "cnn")))
        for k, rows in runs.items()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps({k: out[k] for k in ("shipped", "chosen", "at_operating_point_validation",
                                          "lfw_framing_photos_without_face", "fresh_processes_validation")},
                     indent=1))


if __name__ == "__main__":
    main()
