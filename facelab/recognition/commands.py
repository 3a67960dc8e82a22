"""Command line for stages 2 and 3: `facelab embed`, `facelab eval verification`, `facelab train features`.

Keras and TensorFlow are imported inside the command functions, so `facelab --help` stays fast.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..errors import BadInputError, FacelabError

EMBED_MODELS = ("cnn", "autoencoder", "pca")
VERIFY_MODELS = ("cnn", "autoencoder", "pca", "lbp")
#: a detector's box is grown by this fraction before the 64x64 crop (matches the LFW crop's framing)
DETECTED_MARGIN = 0.1


def load_fitted_extractor(name: str, crop: str = "lfw", weights: str | None = None):
    """A ready-to-use extractor by registry name: shipped weights (or ``weights``) loaded, no training."""
    from ..features import AutoencoderFeatures, CNNEmbedding, LBPFeatures, PCAFeatures

    if name == "cnn":
        return CNNEmbedding(weights=weights or "shipped", crop=crop).fit(None)
    if name == "autoencoder":
        return AutoencoderFeatures(weights=weights or "shipped", crop=crop).fit(None)
    if name == "pca":
        return PCAFeatures.load(weights, crop=crop)
    if name == "lbp":
        return LBPFeatures(crop=crop).fit(None)
    raise FacelabError(f"unknown model {name!r}; known: {', '.join(VERIFY_MODELS)}")


def faces_for_embedding(paths, crop: bool, crop_policy: str = "lfw", detector: str | None = None):
    """(crops uint8 (N, 64, 64), records [{path, face, box}]) for `facelab embed`."""
    from ..features.crop import policy_for
    from ..preprocess import crop_face, list_images, read_image

    files = list_images(paths)
    if not files:
        raise FacelabError("no image files given")
    crops, records = [], []
    if crop:
        policy = policy_for(crop_policy)
        for f in files:
            img = read_image(f)
            crops.append(policy.apply(img))
            records.append({"path": str(f), "face": 0, "box": list(policy.box(*img.shape[:2]))})
        return np.stack(crops), records, "none (--crop)"
    from ..detection import box_finder

    det_name, detect = box_finder(detector)
    for f in files:
        img = read_image(f, "bgr")
        grey = read_image(f)
        for k, box in enumerate(detect(img)):
            crops.append(crop_face(grey, box, size=64, margin=DETECTED_MARGIN))
            records.append({"path": str(f), "face": k, "box": [round(v, 1) for v in box]})
    arr = np.stack(crops) if crops else np.zeros((0, 64, 64), np.uint8)
    return arr, records, det_name


def cmd_embed(args) -> int:
    from ..cli import print_json

    crops, records, det = faces_for_embedding(args.paths, args.crop, args.crop_policy, args.detector)
    ext = load_fitted_extractor(args.model, crop="none", weights=args.weights)
    vecs = ext.transform(crops) if len(crops) else np.zeros((0, ext.n_features_out_), np.float32)
    if args.out:
        out = Path(args.out)
        if out.suffix != ".npy":
            raise BadInputError(out, "--out must name a .npy file")
        np.save(out, vecs.astype(np.float32))
    summary = {"model": args.model, "dim": int(vecs.shape[1]), "faces": len(records), "detector": det,
               "crop_policy": args.crop_policy if args.crop else f"detector box + {DETECTED_MARGIN:.0%} margin, 64x64 grey"}
    if args.json:
        if args.out:
            summary.update(out=str(args.out), items=records)
        else:
            summary["items"] = [{**r, "embedding": [round(float(v), 6) for v in vecs[i]]} for i, r in enumerate(records)]
        print_json(summary)
    elif args.out:
        print(f"wrote {len(vecs)} x {vecs.shape[1]} {args.model} embeddings to {args.out}")
        for i, r in enumerate(records):
            print(f"  row {i}: {r['path']} face {r['face']}")
    else:
        for i, r in enumerate(records):
            print(f"{r['path']}\tface {r['face']}\t" + " ".join(f"{v:.4f}" for v in vecs[i]))
    return 0


def resolve_lfw_root(folder) -> Path:
    """Accept the data home, the ``lfw`` data set folder, or the images folder (``<Name>/<Name>_NNNN.jpg``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInputError(folder, "--lfw must be a folder holding LFW's <Name>/<Name>_NNNN.jpg images")
    if (folder / "lfw" / "lfw").is_dir():
        return folder
    if (folder / "lfw").is_dir() and folder.name == "lfw":
        return folder.parent
    if (folder / "lfw").is_dir():  # <root>/lfw/<Name> with root holding the pair lists
        return _shim(folder / "lfw")
    return _shim(folder)


def _shim(images_dir: Path) -> Path:
    """facelab's loader wants <root>/lfw/lfw/<Name>; point a temporary root at an images folder with a link."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="facelab_lfw_"))
    (root / "lfw").mkdir()
    (root / "lfw" / "lfw").symlink_to(images_dir.resolve(), target_is_directory=True)
    return root


def verification_report(models, pairs_file, root=None, train_pairs=None, log=None) -> list[dict]:
    from ..features import METRIC
    from ..features.crop import load_crops
    from ..evaluation.verification import verify_pairs_file

    rows = []
    for name in models:
        ext = load_fitted_extractor(name, crop="none")
        fn = (lambda ext: (lambda paths: ext.transform(load_crops(paths))))(ext)
        r = verify_pairs_file(fn, pairs_file, root, METRIC[name], train_pairs)
        r["model"] = name
        rows.append(r)
        if log:
            log(r)
    return rows


def cmd_eval_verification(args) -> int:
    from ..cli import print_json

    from ..data import read_pairs

    root = resolve_lfw_root(args.lfw)
    pairs = Path(args.pairs)
    read_pairs(pairs, root)  # a malformed file fails here, before any model loads
    if args.train_pairs:
        read_pairs(args.train_pairs, root)
    rows = verification_report(args.model or ["cnn"], pairs, root, args.train_pairs)
    if args.json:
        print_json({"pairs": str(pairs), "results": rows})
    else:
        for r in rows:
            print(f"{r['model']:<12} accuracy {r['accuracy_mean']:.4f} ± {r['accuracy_std']:.4f} over {r['folds']} fold(s)"
                  f"  AUC {r['auc']:.4f}  threshold {r['threshold_mean']:.4f}  ({r['pairs']} pairs; {r['protocol']})")
    return 0


def cmd_train_features(args) -> int:
    from ..cli import print_json
    from ..features.train import train_features

    if args.combine:
        from ..features.train import combine_features

        if args.model != "cnn":
            raise FacelabError("--combine joins CNN embeddings only: use it with --model cnn")
        summary = combine_features(args.combine, out_dir=args.out, log=(lambda m: print(m, file=sys.stderr)))
        if args.json:
            print_json(summary)
        else:
            print(f"wrote {summary['weights']} (ensemble of {len(args.combine)}, {summary['params']} parameters)")
        return 0
    recipe = {k: getattr(args, k) for k in ("width", "erasing", "dropout") if getattr(args, k) is not None}
    summary = train_features(args.model, args.profile, out_dir=args.out, loss=args.loss, epochs=args.epochs,
                             log=(lambda m: print(m, file=sys.stderr)), **recipe)
    if args.json:
        print_json(summary)
    else:
        print(f"wrote {summary['weights']} ({summary['images']} images, {summary['identities']} identities, "
              f"{summary['train_seconds']} s)")
    return 0


def register(commands, train, evaluate) -> None:
    p = commands.add_parser(
        "embed", help="face embeddings of images (one per detected face, or one per image with --crop)",
        description="Print or save a feature vector per face. Without --crop every image goes through a face "
                    "detector (facelab.detection's default, else OpenCV's Haar cascade) and each face gets one row. "
                    "With --crop each input is taken as one roughly centred face (LFW's 250x250 photos: "
                    "--crop-policy lfw; ORL/FER-style tight crops: --crop-policy tight): detection is skipped and "
                    "exactly one vector per input comes out, in input order.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    p.add_argument("--model", choices=EMBED_MODELS, default="cnn")
    p.add_argument("--weights", help="a .keras (cnn, autoencoder) or .npz (pca) file instead of the shipped one")
    p.add_argument("--crop", action="store_true", help="inputs are face crops: skip detection, one vector per input")
    p.add_argument("--crop-policy", choices=["lfw", "tight"], default="lfw",
                   help="with --crop: 'lfw' = the central 45%% square of an LFW-style photo (the models' training "
                        "crop), 'tight' = the central square of a tight face crop")
    p.add_argument("--detector", help="detector name from facelab.detection (default: its default, else haar)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="print JSON (with the vectors unless --out is given)")
    g.add_argument("--out", metavar="FILE.npy", help="save an (N, D) float32 array")
    p.set_defaults(func=cmd_embed)

    p = evaluate.add_parser(
        "verification", help="LFW-style pair verification: accuracy (mean, std over folds), AUC, threshold",
        description="Score every pair of an official LFW pair list with each model. View 2 files (pairs.txt, "
                    "'10 300' header): for each fold the threshold comes from the other nine. View 1 files "
                    "(one fold): the threshold comes from --train-pairs when given, else from the file itself "
                    "(optimistic, and reported as such).")
    p.add_argument("--pairs", required=True, metavar="FILE", help="pairs.txt / pairsDevTest.txt / pairsDevTrain.txt")
    p.add_argument("--lfw", required=True, metavar="DIR", help="LFW images folder (<Name>/<Name>_NNNN.jpg) or its parent")
    p.add_argument("--model", nargs="+", choices=VERIFY_MODELS, metavar="NAME",
                   help=f"one or more of {', '.join(VERIFY_MODELS)} (default cnn)")
    p.add_argument("--train-pairs", metavar="FILE", help="a one-fold pair list to choose the threshold on (View 1)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval_verification)

    p = train.add_parser("features", help="train the CNN embedding or the autoencoder on LFW (View 1 rule)",
                         description="Trains on LFW identities not in pairsDevTest.txt, without the test images of "
                                     "the LFW >= 70 / >= 20 identification protocols; writes features_<model>.keras, "
                                     "the identities list and a training summary. The shipped CNN embedding is an "
                                     "ensemble of two such nets: train each with --out (default "
                                     "runs/features_cnn_<profile>), then join them with --combine, which writes "
                                     "facelab/weights/ unless --out is given. A full autoencoder run writes "
                                     "facelab/weights/ directly.")
    p.add_argument("--model", choices=["cnn", "autoencoder"], required=True)
    p.add_argument("--profile", choices=["quick", "full"], default="quick",
                   help="quick: 1 epoch on 60 people (shows the workflow); full: the shipped recipe, all people")
    p.add_argument("--loss", choices=["softmax", "cosface", "arcface"], default="cosface", help="cnn head (shipped: cosface)")
    p.add_argument("--epochs", type=int, help="override the profile's epochs")
    p.add_argument("--width", type=int, help="cnn: channels of the first convolution, doubling per block "
                                             "(shipped members: 16 and 20)")
    p.add_argument("--erasing", type=float, help="cnn: blank a random rectangle in up to this fraction of the "
                                                 "training faces, occlusion augmentation (shipped members: 0 and 0.5)")
    p.add_argument("--dropout", type=float, help="cnn: dropout before the embedding layer (shipped members: 0.2)")
    p.add_argument("--combine", nargs="+", metavar="MEMBER.keras",
                   help="cnn: train nothing; join embeddings trained with --out into one ensemble file (the "
                        "shipped embedding is the ensemble of two nets: see facelab/weights/features_cnn.md)")
    p.add_argument("--out", help="output folder (default: runs/features_cnn_<profile> for one CNN net; "
                                 "facelab/weights for --combine and a full autoencoder run)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_train_features)
