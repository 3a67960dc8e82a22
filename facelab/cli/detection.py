"""`facelab detect`, `facelab eval detection`, `facelab train detection`."""
from __future__ import annotations

from pathlib import Path

from ..detection.registry import DETECTORS
from ..errors import BadInputError
from .output import add_training_output, output_folder, print_json, shown, training_out, warn, write_image_once

MODELS = DETECTORS.names()


def register(commands, train, evaluate) -> None:
    p = commands.add_parser(
        "detect", help="find faces in images (boxes and scores)",
        description="Detect faces in image files (any format, colour or grey, GIF included). A file that cannot "
                    "be read gets an 'error' entry; the others are still processed, and the exit status is 1.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    p.add_argument("--model", default=DETECTORS.default, choices=MODELS,
                   help=f"detector: %(choices)s (default {DETECTORS.default}, facelab's best)")
    p.add_argument("--min-score", type=float, default=None,
                   help="keep detections scoring at least this (lower it to get candidates for PR curves)")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--out", metavar="DIR", help="write annotated copies (PNG) here")
    p.set_defaults(func=cmd_detect)

    p = evaluate.add_parser(
        "detection", help="AP@0.5/0.3, recall at 10/50/167 false positives and speed on a box-annotated set",
        description="Images are matched by file stem to a boxes file of lines 'name x_min y_min x_max y_max', or a "
                    "landmarks file of lines 'name x1 y1 ... x6 y6' (boxes by facelab's face box convention). "
                    "Images without lines are face-free. Example (CMU+MIT A+B): --images "
                    "$FACELAB_DATA/cmu_mit_frontal_faces/test_scenes/test --boxes "
                    "$FACELAB_DATA/cmu_mit_frontal_faces/test_scenes/ground_truth_landmarks.txt")
    p.add_argument("--images", required=True, help="folder of images")
    p.add_argument("--boxes", required=True, help="ground-truth boxes file")
    p.add_argument("--model", nargs="+", default=[DETECTORS.default], choices=MODELS, metavar="NAME",
                   help=f"one or more of: {', '.join(MODELS)}")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_eval)

    p = train.add_parser("detection", help="train the CNN detector or the R-CNN")
    p.add_argument("--model", choices=DETECTORS.names(baseline=False), default=DETECTORS.default,
                   help="facelab detector to train: %(choices)s")
    add_training_output(p, "the weights, config and history")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_train)

    fast = [n for n in MODELS if not DETECTORS[n].extra.get("slow") and not n.startswith("deepface")]
    p = train.add_parser(
        "box-calibration", help="fit each detector's box map to facelab's face box convention on the validation split",
        description="Every detector draws its own box around a face. This fits, for each detector named, the median "
                    "offset and size that move its boxes to facelab's convention (a square centred between the eyes "
                    "and the mouth, side 2.3 x eye-to-mouth), on the detection validation split (composites of "
                    "training faces in held-out scenes, and dlib's 9 photos; never the CMU+MIT test set). For 'cnn' "
                    "it refits the CNN's own window calibration, smallest face, pyramid step, speed settings and "
                    "threshold (detection_cnn.json: the fastest within 0.005 of the best F1 at IoU 0.5 that keeps the "
                    "face in 99 % of 600 LFW photos; minutes); for 'rcnn' first its box-regression steps and "
                    "suppression (iomin), then its operating threshold (detection_rcnn.json). Writes "
                    "detection_box_calibration.json.")
    p.add_argument("--model", nargs="+", default=fast, choices=MODELS, metavar="NAME",
                   help=f"detectors to calibrate (default: {' '.join(fast)})")
    add_training_output(p, "detection_box_calibration.json (and detection_cnn.json, detection_rcnn.json)", profile=False)
    p.add_argument("--seed", type=int, default=42, help="seed of the validation split (default 42)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_box_calibration)


def _annotate(img, faces, out_dir: Path, src: Path) -> Path:
    import cv2

    from ..detection.base import as_bgr

    im = as_bgr(img).copy()
    for f in faces:
        x, y, w, h = (int(round(v)) for v in f["box"])
        cv2.rectangle(im, (x, y), (x + w, y + h), (0, 255, 0), 2)
        cv2.putText(im, f"{f['score']:.2f}", (x, max(10, y - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 0), 1)
    return write_image_once(out_dir, src.stem, im, "_faces")


def cmd_detect(args) -> int:
    from ..pipeline.faces import expand_paths
    from ..preprocess import read_image
    from ..detection import get_detector

    out = output_folder(args.out) if args.out else None  # an unusable --out is an error before any model runs
    files = expand_paths(args.paths)
    det = get_detector(args.model, min_score=args.min_score)
    results, failed = [], 0
    for f, error in files:
        entry = {"image": shown(f)}
        try:
            if error:
                raise BadInputError(f, error.split(": ", 1)[-1])
            img = read_image(f, "bgr")
        except BadInputError as exc:
            entry.update(error=exc.problem)
            failed += 1
            results.append(entry)
            if not args.json:
                warn(f"{shown(f)}: {exc.problem}")
            continue
        faces = [{"face": k, **d.to_dict()} for k, d in enumerate(det.detect(img), 1)]
        entry.update(width=int(img.shape[1]), height=int(img.shape[0]), faces=faces)
        if out is not None:
            try:
                entry["annotated"] = _annotate(img, faces, out, Path(f))
            except BadInputError as exc:
                entry["annotated_error"] = str(exc)
                failed += 1
                if not args.json:
                    warn(str(exc))
        results.append(entry)
        if not args.json:
            print(f"{shown(f)}: {len(faces)} face(s)")
            for fc in faces:
                print(f"  face {fc['face']} at {fc['box']}  score {fc['score']:.3f}")
    if args.json:
        print_json(results)
    return 1 if failed else 0


def cmd_eval(args) -> int:
    from ..detection.benchmark import benchmark, load_box_set

    items = load_box_set(args.images, args.boxes)
    res = benchmark(args.model, items, progress=not args.json, low_threshold=True, on_error="raise")
    rows = []
    for name, r in res.items():
        m = r["metrics"]
        rows.append({"model": name, **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}})
    if args.json:
        print_json({"images": len(items), "faces": int(sum(len(i["boxes"]) for i in items)), "results": rows})
        return 0
    print(f"{len(items)} images, {sum(len(i['boxes']) for i in items)} faces")
    print(f"{'model':<16}{'AP@0.5':>8}{'AP@0.3':>8}{'R@10FP':>8}{'R@50FP':>8}{'R@167FP':>8}{'s/img':>8}{'MP/s':>8}")
    for r in rows:
        print(f"{r['model']:<16}{r['ap50']:>8.3f}{r['ap30']:>8.3f}{r['recall50_at_10fp']:>8.3f}"
              f"{r['recall50_at_50fp']:>8.3f}{r['recall50_at_167fp']:>8.3f}{r['s_per_image']:>8.3f}{r['mp_per_s']:>8.2f}")
    print("(recall at N false positives counted at IoU 0.5)")
    return 0


def _cnn_selection() -> dict:
    """calibrate_cnn's arguments for the shipped CNN: every speed setting swept with the pyramid, judged by what a
    user's ``facelab detect`` reports (F1 at IoU 0.5 at each one's own threshold: the highest within 0.005 of its best
    F1), none leaving over 1 % of the pipeline's 600 LFW framing photos (training identities) without a face. The
    photos come from the pipeline, which the CLI may import and the detection stage may not."""
    from ..detection.train import CNN_SPEED_SETTINGS
    from ..pipeline.framing import framing_photos
    from ..preprocess import read_image

    return {"speed_settings": CNN_SPEED_SETTINGS, "select_by": "operating_f1", "threshold_tolerance": 0.005,
            "large_face_photos": [read_image(p, "bgr") for p in framing_photos(600)]}


def cmd_train(args) -> int:
    from ..config import training_dir
    from ..detection.train import SHIPPED_INFERENCE, calibrate_cnn, finetune_cnn_photo_negatives, train_cnn, train_rcnn

    fn = train_cnn if args.model == "cnn" else train_rcnn
    out = training_dir(f"detection_{args.model}", args.profile, training_out(args))
    log = (lambda *a: None) if args.json else print
    hist = fn(args.profile, out_dir=out, seed=args.seed, progress=not args.json, verbose=0 if args.json else 2, log=log)
    if args.model == "cnn" and args.profile == "full":
        # the recipe's last round (false alarms in people photos), then the choices made on the validation split
        finetune_cnn_photo_negatives(out, out, seed=args.seed, log=log, verbose=0 if args.json else 2,
                                     progress=not args.json)
        calibrate_cnn(out, seed=args.seed, log=log, inference=SHIPPED_INFERENCE, progress=not args.json,
                      **_cnn_selection())
    if args.json:
        print_json({"model": args.model, "profile": args.profile, "out": str(out), "seconds": hist.get("seconds")})
    return 0


def cmd_box_calibration(args) -> int:
    from ..detection.calibration import BOX_MAPS_FILE, box_map_entries, write_box_maps
    from ..detection.train import calibrate_cnn, calibrate_detectors, calibrate_rcnn_threshold, choose_rcnn_inference

    out = Path(training_out(args) or Path("runs") / "box_calibration")
    log = (lambda *a: None) if args.json else print
    result = {}
    if "cnn" in args.model:
        result["cnn"] = calibrate_cnn(seed=args.seed, log=log, out_dir=out, progress=not args.json, **_cnn_selection())
    others = [n for n in args.model if n != "cnn"]
    settings = {}
    if "rcnn" in others:  # its regression steps and suppression first: the box map is fitted on the boxes they give
        chosen = choose_rcnn_inference(seed=args.seed, progress=not args.json, log=log)
        settings["rcnn"] = {k: chosen[k] for k in ("iterations", "iomin")}
        result["rcnn_inference"] = chosen
    fitted = calibrate_detectors(others, seed=args.seed, progress=not args.json, log=log, settings=settings)
    # detectors not refitted now keep their shipped entries (map and face count)
    maps = {n: entry for n, entry in box_map_entries().items() if n not in fitted}
    maps.update({n: r for n, r in fitted.items() if "map" in r})
    path = write_box_maps(dict(sorted(maps.items())), out / BOX_MAPS_FILE)
    if "map" in fitted.get("rcnn", {}):  # its operating threshold is chosen on the boxes its new map gives
        result["rcnn"] = calibrate_rcnn_threshold(seed=args.seed, out_dir=out, box_map=fitted["rcnn"]["map"],
                                                  progress=not args.json, log=log, settings=settings.get("rcnn"))
    result["maps"] = fitted
    result["out"] = str(path)
    if args.json:
        print_json(result)
    else:
        print(f"wrote {path}")
    return 0
