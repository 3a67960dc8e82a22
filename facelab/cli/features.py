"""Command line for stages 2 and 3: `facelab embed`, `facelab eval verification`, `facelab train features`."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..detection.registry import DETECTORS
from ..errors import BadInputError, FacelabError
from ..features.registry import EMBEDDERS, metric_of
from .output import add_training_output, print_json, shown, training_out, warn

#: embedders whose vectors `facelab embed` prints (LBP histograms are for verification only)
EMBED_MODELS = [n for n in EMBEDDERS if n != "lbp"]


def cmd_embed(args) -> int:
    from ..pipeline.faces import faces_from_paths, stacked_crops

    entry = EMBEDDERS[args.model]
    if args.out and Path(args.out).suffix != ".npy":
        raise BadInputError(args.out, "--out must name a .npy file")
    if args.out and not Path(args.out).resolve().parent.is_dir():
        raise BadInputError(args.out, "--out names a file in a folder that does not exist")
    detector = None if args.crop else _detector(args.detector)
    items = faces_from_paths(args.paths, entry.inputs, detector, policy=args.crop_policy if args.crop else None)
    crops = stacked_crops(items, entry.inputs)
    ext = EMBEDDERS.create(args.model, crop="none", weights=args.weights)
    vecs = ext.transform(crops) if len(crops) else np.zeros((0, ext.n_features_out_), np.float32)
    records = [{"path": shown(it.image), "face": f.number, "box": f.box_list()} for it in items for f in it.faces]
    errors = [{"path": shown(it.image), "error": it.error} for it in items if it.error]
    if args.out:
        np.save(args.out, vecs.astype(np.float32))
    framing = (f"--crop, crop policy {args.crop_policy}" if args.crop else
               f"detector box + {entry.inputs.margin:.0%} margin, {entry.inputs.size}x{entry.inputs.size} {entry.inputs.colour}")
    summary = {"model": args.model, "dim": int(vecs.shape[1]), "faces": len(records),
               "detector": "none (--crop)" if args.crop else detector.name, "crop_policy": framing}
    if args.json:
        if args.out:
            summary.update(out=str(args.out), items=records)
        else:
            summary["items"] = [{**r, "embedding": [round(float(v), 6) for v in vecs[i]]} for i, r in enumerate(records)]
        summary["errors"] = errors
        print_json(summary)
    elif args.out:
        print(f"wrote {len(vecs)} x {vecs.shape[1]} {args.model} embeddings to {args.out}")
        for i, r in enumerate(records):
            print(f"  row {i}: {r['path']} face {r['face']}")
    else:
        for i, r in enumerate(records):
            print(f"{r['path']}\tface {r['face']}\t" + " ".join(f"{v:.4f}" for v in vecs[i]))
    if not args.json:
        for e in errors:
            warn(e["error"])
    return 1 if errors else 0


def _detector(name):
    from ..detection import get_detector

    return get_detector(name)


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
    from ..evaluation.verification import verify_pairs_file
    from ..models.inputs import load_crops

    rows = []
    for name in models:
        ext = EMBEDDERS.create(name, crop="none")
        fn = (lambda ext: (lambda paths: ext.transform(load_crops(paths))))(ext)
        r = verify_pairs_file(fn, pairs_file, root, metric_of(name), train_pairs)
        r["model"] = name
        rows.append(r)
        if log:
            log(r)
    return rows


def cmd_eval_verification(args) -> int:
    from ..data import read_pairs

    root = resolve_lfw_root(args.lfw)
    pairs = Path(args.pairs)
    read_pairs(pairs, root)  # a malformed file fails here, before any model loads
    if args.train_pairs:
        read_pairs(args.train_pairs, root)
    rows = verification_report(args.model or [EMBEDDERS.default], pairs, root, args.train_pairs)
    if args.json:
        print_json({"pairs": str(pairs), "results": rows})
    else:
        for r in rows:
            print(f"{r['model']:<12} accuracy {r['accuracy_mean']:.4f} ± {r['accuracy_std']:.4f} over {r['folds']} fold(s)"
                  f"  AUC {r['auc']:.4f}  threshold {r['threshold_mean']:.4f}  ({r['pairs']} pairs; {r['protocol']})")
    return 0


def cmd_train_features(args) -> int:
    from ..features.train import train_features

    if args.combine:
        from ..features.train import combine_features

        if args.model != "cnn":
            raise FacelabError("--combine joins CNN embeddings only: use it with --model cnn")
        summary = combine_features(args.combine, out_dir=training_out(args), log=(lambda m: print(m, file=sys.stderr)))
        if args.json:
            print_json(summary)
        else:
            print(f"wrote {summary['weights']} (ensemble of {len(args.combine)}, {summary['params']} parameters)")
        return 0
    recipe = {k: getattr(args, k) for k in ("width", "erasing", "dropout") if getattr(args, k) is not None}
    summary = train_features(args.model, args.profile, out_dir=training_out(args), loss=args.loss, epochs=args.epochs,
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
                    "detector (the detector registry's default, cnn) and each face gets one row, cut as the model's "
                    "registry entry asks (the box grown by its margin, resized to its input). "
                    "With --crop each input is taken as one roughly centred face (LFW's 250x250 photos: "
                    "--crop-policy lfw; ORL/FER-style tight crops: --crop-policy tight): detection is skipped and "
                    "exactly one vector per input comes out, in input order.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    p.add_argument("--model", choices=EMBED_MODELS, default=EMBEDDERS.default,
                   help=f"embedder: %(choices)s (default {EMBEDDERS.default})")
    p.add_argument("--weights", help="a .keras (cnn, autoencoder) or .npz (pca) file instead of the shipped one")
    p.add_argument("--crop", action="store_true", help="inputs are face crops: skip detection, one vector per input")
    p.add_argument("--crop-policy", choices=["lfw", "tight"], default="lfw",
                   help="with --crop: 'lfw' = the central 45%% square of an LFW-style photo (the models' training "
                        "crop), 'tight' = the central square of a tight face crop")
    p.add_argument("--detector", choices=DETECTORS.names(), default=DETECTORS.default,
                   help=f"face detector without --crop: %(choices)s (default {DETECTORS.default})")
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
    p.add_argument("--model", nargs="+", choices=EMBEDDERS.names(), metavar="NAME",
                   help=f"one or more of {', '.join(EMBEDDERS)} (default {EMBEDDERS.default})")
    p.add_argument("--train-pairs", metavar="FILE", help="a one-fold pair list to choose the threshold on (View 1)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_eval_verification)

    p = train.add_parser("features", help="train the CNN embedding or the autoencoder on LFW (View 1 rule)",
                         description="Trains on LFW identities not in pairsDevTest.txt, without the test images of "
                                     "the LFW >= 70 / >= 20 identification protocols; writes features_<model>.keras, "
                                     "the identities list and a training summary. The shipped CNN embedding is an "
                                     "ensemble of two such nets: train each (into runs/features_cnn_<profile>/ "
                                     "or --out), then join them with --combine. Nothing replaces the shipped weights "
                                     "in facelab/weights/ unless --replace-shipped is given.")
    p.add_argument("--model", choices=[n for n in EMBEDDERS if EMBEDDERS[n].weights], required=True,
                   help="embedding to train (or, for pca, fit): %(choices)s")
    add_training_output(p, "the .keras file, its identities list and training summary")
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
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_train_features)
