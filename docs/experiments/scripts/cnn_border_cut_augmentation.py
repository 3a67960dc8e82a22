"""The CNN detector's real-photo augmentation, retrained with the border pad, judged on faces cut by the frame in real
photos (issue 24's next step; validation data only, no test photo is read).

Trains the full recipe (:func:`facelab.detection.train.train_cnn`, then the people-photo round and the
validation-split calibration with :data:`~facelab.detection.train.SHIPPED_INFERENCE`, as ``facelab train detection
--model cnn --profile full`` does) with training faces occluded (0.2), JPEG-compressed (0.2) and cut by the border
(0.15), the negatives cut as often, hard negatives mined past the border (20 px): the variant the model card
records as removing the tiled-canvas box. Then scores it beside the shipped weights on
:func:`facelab.detection.validation.border_cut_photos` (cut and uncut), on the validation split (AP at the lowest
threshold; faces found and false boxes at the operating threshold) and on the 600 LFW photos the pipeline's framing
is fitted on (photos where it reports no face). The run in ``--runs-dir`` is reused when it is there.

    python docs/experiments/scripts/cnn_border_cut_augmentation.py [--runs-dir runs/detection_cnn_border_cut]
        [--out docs/experiments/detection_cnn_border_cut_augmentation_2026-12-07.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PROFILE = "full-border-cut"
AUGMENTATION = dict(occlude=0.2, jpeg=0.2, border_cut=0.15, negative_border_cut=0.15, border_pad=20)


def train(runs_dir: Path, log) -> dict:
    from facelab.detection import train as tr

    tr.PROFILES[PROFILE] = dict(tr.PROFILES["full"], **AUGMENTATION)
    hist = tr.train_cnn(PROFILE, out_dir=runs_dir, log=log, verbose=0)
    tr.finetune_cnn_photo_negatives(runs_dir, runs_dir, log=log, verbose=0)
    tr.calibrate_cnn(runs_dir, log=log, inference=tr.SHIPPED_INFERENCE)
    return {"seconds": hist.get("seconds")}


def score(det, cut, control, items, lfw) -> dict:
    """One detector (at its operating threshold ``det.min_score``) on the border-cut photos, the validation split
    and the LFW framing photos."""
    from facelab.detection.metrics import _as_array, detection_metrics, match_detections
    from facelab.detection.validation import border_cut_recall

    operating = det.min_score
    shares = [it["cut"][it["target"]] for it in cut]
    out = {"operating_threshold": operating}
    for name, photos in (("cut", cut), ("control", control)):
        dets = [_as_array(det.detect(it["image"])) for it in photos]
        out[f"border_cut_photos_{name}"] = border_cut_recall(dets, photos, 0.5, shares=shares)
    det.min_score = -1e9
    dets = [_as_array(det.detect(it["image"])) for it in items]
    det.min_score = operating
    gts = [it["boxes"] for it in items]
    m = detection_metrics(dets, gts)
    _, tp, n_gt = match_detections([d[d[:, 4] >= operating] for d in dets], gts, 0.5)
    out["validation_split"] = {"ap30": round(m["ap30"], 4), "ap50": round(m["ap50"], 4), "faces": n_gt,
                               "found_at_operating": int(tp.sum()), "false_boxes_at_operating": int((~tp).sum())}
    out["lfw_framing_photos_without_face"] = sum(not det.detect(im) for im in lfw)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-dir", default="runs/detection_cnn_border_cut")
    parser.add_argument("--out", default="docs/experiments/detection_cnn_border_cut_augmentation_2026-12-07.json")
    args = parser.parse_args()
    from facelab.detection.cnn import CNNDetector
    from facelab.detection.registry import get_detector
    from facelab.detection.validation import border_cut_photos, validation_set
    from facelab.pipeline.framing import framing_photos
    from facelab.preprocess import read_image

    runs = Path(args.runs_dir)
    log = lambda *a: print(*a, flush=True)  # noqa: E731
    trained = {"reused": True}
    if not (runs / "detection_cnn.keras").exists() or not (runs / "detection_cnn.json").exists():
        runs.mkdir(parents=True, exist_ok=True)
        trained = train(runs, log)
    cut, control = border_cut_photos(), border_cut_photos(cut=False)
    items = validation_set()
    lfw = [read_image(p, "bgr") for p in framing_photos(600)]
    out = {"written_by": "docs/experiments/scripts/cnn_border_cut_augmentation.py", "date": time.strftime("%Y-%m-%d"),
           "machine": platform.platform(), "augmentation": AUGMENTATION, "training": trained,
           "command": f"python docs/experiments/scripts/cnn_border_cut_augmentation.py --runs-dir {runs}",
           "config": json.loads((runs / "detection_cnn.json").read_text())}
    for name, det in (("shipped", get_detector("cnn")), ("augmented", CNNDetector.load(runs))):
        out[name] = score(det, cut, control, items, lfw)
        log(f"{name}: {json.dumps(out[name])}")
    Path(args.out).write_text(json.dumps(out, indent=1))
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
