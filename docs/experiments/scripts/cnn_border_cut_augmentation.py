"""The CNN detector's real-photo augmentation, retrained with the border pad, judged on faces cut by the frame in real
photos (issue 24's next step; validation data only, no test photo is read).

Trains the full recipe (:func:`facelab.detection.train.train_cnn`, then the people-photo round and the
validation-split calibration with :data:`~facelab.detection.train.SHIPPED_INFERENCE`, as ``facelab train detection
--model cnn --profile full`` does) with one of :data:`VARIANTS`: training faces occluded (0.2), JPEG-compressed (0.2)
and (``border-cut``) cut by the border (0.15), the negatives cut as often (``border-cut-flat-band``: and given a flat
band of page or screen, 0.15); hard negatives mined past the border (20 px). Then scores it beside the shipped
weights on :func:`facelab.detection.validation.border_cut_photos` (cut and uncut), on the validation split (AP at the
lowest threshold; faces found and false boxes at the operating threshold) and on the 600 LFW photos the pipeline's
framing is fitted on (photos where it reports no face). The run in ``--runs-dir`` is reused when it is there.

    python docs/experiments/scripts/cnn_border_cut_augmentation.py
        [--variant border-cut|occlude-jpeg|border-cut-flat-band] [--train-seed N]
        [--runs-dir runs/detection_cnn_<variant>[_seed<N>]] [--out OUT.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: the augmentations tried (train_cnn profile keys added to the full profile), and the inference settings each
#: starts its calibration from (SHIPPED_INFERENCE, plus the shipped speed settings for the later variants, so that
#: only the training differs from the shipped detector; "border-cut" ran with the training's defaults)
VARIANTS = {
    "border-cut": (dict(occlude=0.2, jpeg=0.2, border_cut=0.15, negative_border_cut=0.15, border_pad=20), {}),
    "occlude-jpeg": (dict(occlude=0.2, jpeg=0.2, border_pad=20), dict(stage1_peaks=True, chained_pyramid=True)),
    "border-cut-flat-band": (dict(occlude=0.2, jpeg=0.2, border_cut=0.15, negative_border_cut=0.15,
                                  negative_flat_band=0.15, border_pad=20),
                             dict(stage1_peaks=True, chained_pyramid=True)),
}


def train(runs_dir: Path, variant: str, log, train_seed: int | None = None) -> dict:
    from facelab.detection import train as tr

    augmentation, speed = VARIANTS[variant]
    profile = f"full-{variant}"
    tr.PROFILES[profile] = dict(tr.PROFILES["full"], **augmentation)
    hist = tr.train_cnn(profile, out_dir=runs_dir, log=log, verbose=0, train_seed=train_seed)
    tr.finetune_cnn_photo_negatives(runs_dir, runs_dir, log=log, verbose=0, train_seed=train_seed)
    tr.calibrate_cnn(runs_dir, log=log, inference=dict(tr.SHIPPED_INFERENCE, **speed))
    return {"seconds": hist.get("seconds"), "train_seed": hist.get("train_seed")}


def score(det, cut, control, items, lfw) -> dict:
    """One detector (at its operating threshold ``det.min_score``) on the border-cut photos, the validation split
    and the LFW framing photos."""
    from facelab.detection.metrics import _as_array, operating_point
    from facelab.detection.validation import border_cut_recall

    shares = [it["cut"][it["target"]] for it in cut]
    out = {"operating_threshold": det.min_score}
    for name, photos in (("cut", cut), ("control", control)):
        dets = [_as_array(det.detect(it["image"])) for it in photos]
        out[f"border_cut_photos_{name}"] = border_cut_recall(dets, photos, 0.5, shares=shares)
    out["validation_split"] = operating_point(det, items)
    out["lfw_framing_photos_without_face"] = sum(not det.detect(im) for im in lfw)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="border-cut",
                        help="border-cut: occlusion, JPEG and border cuts (the card's recipe); occlude-jpeg: no cuts, "
                             "the shipped speed settings; border-cut-flat-band: border cuts and negatives beside a "
                             "flat band of page or screen (patches.flat_band), the shipped speed settings")
    parser.add_argument("--train-seed", type=int, help="another run of the recipe (train_cnn's train_seed; the splits "
                        "stay those of seed 42)")
    parser.add_argument("--runs-dir", help="default runs/detection_cnn_<variant>[_seed<N>]")
    parser.add_argument("--out", help="default docs/experiments/detection_cnn_<variant>_augmentation_<date>.json")
    args = parser.parse_args()
    from facelab.detection.cnn import CNNDetector
    from facelab.detection.registry import get_detector
    from facelab.detection.validation import border_cut_photos, validation_set
    from facelab.pipeline.framing import framing_photos
    from facelab.preprocess import read_image

    stem = args.variant.replace("-", "_") + ("" if args.train_seed is None else f"_seed{args.train_seed}")
    runs = Path(args.runs_dir or f"runs/detection_cnn_{stem}")
    out_file = Path(args.out or f"docs/experiments/detection_cnn_{stem}_augmentation_{time.strftime('%Y-%m-%d')}.json")
    log = lambda *a: print(*a, flush=True)  # noqa: E731
    trained = {"reused": True}
    if not (runs / "detection_cnn.keras").exists() or not (runs / "detection_cnn.json").exists():
        runs.mkdir(parents=True, exist_ok=True)
        trained = train(runs, args.variant, log, args.train_seed)
    cut, control = border_cut_photos(), border_cut_photos(cut=False)
    items = validation_set()
    lfw = [read_image(p, "bgr") for p in framing_photos(600)]
    out = {"written_by": "docs/experiments/scripts/cnn_border_cut_augmentation.py", "date": time.strftime("%Y-%m-%d"),
           "machine": platform.platform(), "variant": args.variant, "augmentation": VARIANTS[args.variant][0],
           "inference_before_calibration": VARIANTS[args.variant][1], "training": trained,
           "command": f"python docs/experiments/scripts/cnn_border_cut_augmentation.py --variant {args.variant} "
                      + ("" if args.train_seed is None else f"--train-seed {args.train_seed} ") + f"--runs-dir {runs}",
           "config": json.loads((runs / "detection_cnn.json").read_text())}
    for name, det in (("shipped", get_detector("cnn")), ("augmented", CNNDetector.load(runs))):
        out[name] = score(det, cut, control, items, lfw)
        log(f"{name}: {json.dumps(out[name])}")
    out_file.write_text(json.dumps(out, indent=1))
    log(f"wrote {out_file}")


if __name__ == "__main__":
    main()
