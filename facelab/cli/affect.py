"""`facelab expression`, `facelab emotion`, `facelab eval expression|emotion`, `facelab train expression|emotion`."""
from __future__ import annotations

import argparse

from ..affect.registry import EMOTION_MODELS, EXPRESSION_MODELS
from ..detection.registry import DETECTORS
from .output import add_training_output, print_json, shown, training_out, warn

# numpy only: the affect package imports Keras lazily
from ..affect.expression import BLOCK_DROPOUT  # noqa: E402
from ..affect.training import EXPRESSION_OPTIMIZER, OPTIMIZERS, PROFILES  # noqa: E402

SEQUENCE_NOTE = ("With --model {seq}: the images given, in the order given, form ONE sequence (one frame each: the "
                 "whole image with --crop, else its largest detected face) and the output is ONE result for the "
                 "sequence; frames without a face are skipped.")


# ---------------------------------------------------------------- faces from files
def _faces(args, entry):
    """Per input its faces cut as ``entry`` asks (through the one detect-and-crop path), or its error."""
    from ..detection import get_detector
    from ..pipeline.faces import faces_from_paths

    detector = None if args.crop else get_detector(args.detector)
    return faces_from_paths(args.paths, entry.inputs, detector)


def _scores(p, labels):
    return {lab: round(float(v), 5) for lab, v in zip(labels, p)}


def _results(items, describe_face) -> list[dict]:
    """Per input {image, faces: [...]} (``describe_face(face, k)``; k counts the faces over all inputs, in order),
    or {image, error}."""
    k, results = 0, []
    for it in items:
        if it.error:
            results.append({"image": shown(it.image), "error": it.error})
            continue
        faces = []
        for f in it.faces:
            faces.append({"face": f.number, "box": f.box_list(), **describe_face(k)})
            k += 1
        results.append({"image": shown(it.image), "faces": faces})
    return results


def _emit(args, results: list[dict], describe) -> int:
    """Print JSON or one line per face (``describe(face)``); bad files go to stderr; exit 1 if any."""
    if args.json:
        print_json(results)
    for r in results:
        if "error" in r:
            if not args.json:
                warn(r["error"])
        elif not args.json:
            if not r["faces"]:
                print(f"{r['image']}: no face found")
            for f in r["faces"]:
                print(f"{r['image']}: face {f['face']} at {f['box']}: {describe(f)}")
    return 1 if any("error" in r for r in results) else 0


def _top(scores: dict) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in sorted(scores.items(), key=lambda kv: -kv[1]))


# ---------------------------------------------------------------- facelab expression / emotion
def _frame_model_inputs(args, registry, target: str):
    """(faces per input, the frame model, every face's crop), or, for a sequence model, its one result (exit code)."""
    from ..pipeline.faces import stacked_crops

    entry = registry[args.model]
    items = _faces(args, entry)
    if entry.extra.get("sequence"):
        return _sequence_result(args, items, target, entry.factory(weights=args.weights))
    return items, entry.factory(weights=args.weights, tta=args.tta), stacked_crops(items, entry.inputs)


def _cmd_expression(args) -> int:
    from ..data import FER_LABELS

    ready = _frame_model_inputs(args, EXPRESSION_MODELS, "expression")
    if isinstance(ready, int):
        return ready
    items, model, crops = ready
    proba = model.predict_proba(crops) if len(crops) else None

    def face(k):
        p = proba[k]
        return {"expression": FER_LABELS[int(p.argmax())], "scores": _scores(p, FER_LABELS)}

    return _emit(args, _results(items, face), lambda f: f"{f['expression']} ({_top(f['scores'])})")


def _cmd_emotion(args) -> int:
    from ..affect.mapping import AROUSAL_LABELS, VALENCE_LABELS

    ready = _frame_model_inputs(args, EMOTION_MODELS, "emotion")
    if isinstance(ready, int):
        return ready
    items, model, crops = ready
    pv, pa = model.predict_affect(crops) if len(crops) else (None, None)

    def face(k):
        return {"valence": VALENCE_LABELS[int(pv[k].argmax())], "arousal": AROUSAL_LABELS[int(pa[k].argmax())],
                "scores": {"valence": _scores(pv[k], VALENCE_LABELS), "arousal": _scores(pa[k], AROUSAL_LABELS)}}

    return _emit(args, _results(items, face),
                 lambda f: f"valence {f['valence']} ({_top(f['scores']['valence'])}), "
                           f"arousal {f['arousal']} ({_top(f['scores']['arousal'])})")


def _sequence_result(args, items, target: str, seq_model) -> int:
    """LSTM / GRU: the inputs in order are one sequence (the largest face of each image)."""
    import numpy as np

    from ..affect.mapping import AROUSAL_LABELS, VALENCE_LABELS
    from ..data import FER_LABELS

    frames = [max(it.faces, key=lambda f: f.box[2] * f.box[3]) for it in items if it.faces]
    errors = [{"image": shown(it.image), "error": it.error} for it in items if it.error]
    result = {"sequence": [shown(it.image) for it in items if not it.error], "model": args.model,
              "frames_with_face": len(frames)}
    if frames:
        out = seq_model.predict_sequence(np.stack([f.crop for f in frames]))
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
        if not frames:
            print(f"sequence of {len(items)} images: no face found")
        elif target == "expression":
            print(f"sequence of {len(frames)} frames: {result['expression']} ({_top(result['scores'])})")
        else:
            print(f"sequence of {len(frames)} frames: valence {result['valence']} ({_top(result['scores']['valence'])}), "
                  f"arousal {result['arousal']} ({_top(result['scores']['arousal'])})")
        for e in errors:
            warn(e["error"])
    return 1 if errors else 0


# ---------------------------------------------------------------- facelab eval expression / emotion
def _print_metrics(name, m, indent="  "):
    print(f"{indent}{name}: accuracy {m['accuracy']:.4f}  macro F1 {m['macro_f1']:.4f}  (n={m['n']})")
    rec = ", ".join(f"{k} {v:.2f}" if v is not None else f"{k} -" for k, v in m["per_class_recall"].items())
    print(f"{indent}  recall: {rec}")
    print(f"{indent}  confusion (rows true, cols predicted: {' '.join(m['labels'])}):")
    for lab, row in zip(m["labels"], m["confusion_matrix"]):
        print(f"{indent}    {lab:>9} " + " ".join(f"{v:5d}" for v in row))


def _cmd_eval(args, target: str) -> int:
    from ..affect.evaluation import evaluate_csv

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

    out = training_out(args)
    if target == "expression" and args.model == "cnn":
        from ..affect.training import train_expression_cnn

        info = train_expression_cnn(args.profile, out=out, epochs=args.epochs, seed=args.seed, init=args.init,
                                    lr=args.lr, precision=args.precision, minutes=args.minutes,
                                    weight_decay=args.weight_decay, block_dropout=args.block_dropout,
                                    optimizer=args.optimizer)
    elif target == "emotion" and args.model == "cnn":
        from ..affect.emotion import train_emotion_cnn

        info = train_emotion_cnn(args.profile, out=out, epochs=args.epochs, seed=args.seed)
    else:
        from ..affect.seqmodels import train_sequence_model

        info = train_sequence_model(target, args.profile, out=out, epochs=args.epochs, cell=args.model, seed=args.seed)
    print(json.dumps(info, indent=2, default=str))
    return 0


# ---------------------------------------------------------------- registration
def register(commands, train, evaluate) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    crop_help = ("each input is one roughly centred face, as FER2013's are: no detection, one result per input, "
                 "in order")

    def common(p):
        p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
        p.add_argument("--crop", action="store_true", help=crop_help)
        p.add_argument("--detector", choices=DETECTORS.names(), default=DETECTORS.default,
                       help=f"face detector when --crop is not given: %(choices)s (default {DETECTORS.default})")
        p.add_argument("--tta", action="store_true", help="test-time augmentation: average with the mirrored face")
        p.add_argument("--weights", help="a .keras file instead of the shipped weights")
        p.add_argument("--json", action="store_true", help="print JSON: per image {image, faces: [...]}")

    p = commands.add_parser(
        "expression", help="label facial expressions (angry, disgust, fear, happy, sad, surprise, neutral)",
        formatter_class=fmt,
        description="Per face: the expression and the 7 class scores (FER2013 label names).\n"
                    "Models:\n" + "".join(f"  {n}: {e.description}{' (baseline)' if e.baseline else ''}\n"
                                            for n, e in EXPRESSION_MODELS.items()) + SEQUENCE_NOTE.format(seq="lstm") +
                    "\nA bad file is reported by name (in JSON as {image, error}); the others are still processed "
                    "and the exit code is 1.")
    p.add_argument("--model", choices=EXPRESSION_MODELS.names(), default=EXPRESSION_MODELS.default,
                   help=f"%(choices)s (default {EXPRESSION_MODELS.default})")
    common(p)
    p.set_defaults(func=_cmd_expression)

    p = commands.add_parser(
        "emotion", help="affect per face: valence (negative/neutral/positive) and arousal (low/high)",
        formatter_class=fmt,
        description="Per face: valence and arousal with their scores. Models:\n"
                    + "".join(f"  {n}: {e.description}\n" for n, e in EMOTION_MODELS.items()) + SEQUENCE_NOTE.format(seq="gru") +
                    "\nAffect labels follow the documented expression → affect mapping (Russell 1980 circumplex; "
                    "facelab.affect.mapping).")
    p.add_argument("--model", choices=EMOTION_MODELS.names(), default=EMOTION_MODELS.default,
                   help=f"%(choices)s (default {EMOTION_MODELS.default})")
    common(p)
    p.set_defaults(func=_cmd_emotion)

    frame_models = [n for n, e in EXPRESSION_MODELS.items() if not e.extra.get("sequence")]
    for target, models in (("expression", frame_models + ["majority"]),
                           ("emotion", [n for n, e in EMOTION_MODELS.items() if not e.extra.get("sequence")]
                            + [f"expression-{n}" for n in frame_models] + ["majority"])):
        p = evaluate.add_parser(
            target, help=f"{target} models on a FER2013 CSV (official layout emotion,pixels,Usage)",
            description="Accuracy, macro F1, per-class recall and the confusion matrix" +
                        (" of valence and arousal (labels mapped from the expressions; 7-class models are "
                         "mapped through the same rule)" if target == "emotion" else "") + ".")
        p.add_argument("--csv", required=True, help="file in the official FER2013 CSV layout")
        p.add_argument("--usage", choices=["Training", "PublicTest", "PrivateTest"],
                       help="rows to evaluate (default PublicTest if present, else all)")
        p.add_argument("--model", nargs="+", choices=models, metavar="NAME",
                       help=f"models to evaluate: {', '.join(models)} (default cnn)")
        p.add_argument("--tta", action="store_true", help="average with the mirrored face (facelab models)")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=lambda a, t=target: _cmd_eval(a, t))

    for target, models in (("expression", ["cnn", "lstm"]), ("emotion", ["cnn", "gru", "simplernn"])):
        p = train.add_parser(
            target, help=f"train the {target} models on FER2013 (Training minus PublicTest copies)",
            description="cnn: on FER2013 Training (the images that copy a PublicTest image dropped), epoch chosen "
                        "on PublicTest. Sequence models: on simulated sequences of Training faces, on the features "
                        "of the shipped expression CNN. Writes runs/<model>_<profile>/ unless --out or --replace-shipped.")
        p.add_argument("--model", choices=models, default="cnn", help="%(choices)s (default cnn)")
        add_training_output(p, "the .keras file and its history")
        p.add_argument("--epochs", type=int, help="override the profile's epochs")
        p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
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
