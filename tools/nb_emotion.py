# Source of the notebook(s) it writes; run from the repository root: .venv/bin/python tools/nb_emotion.py
from nbformat.v4 import new_markdown_cell as md, new_code_cell as code

from nbgen import save  # noqa: E402


cells = [
md("""# 06 · Emotion (affect): valence and arousal from a two-head CNN, and a GRU over sequences

Affect here is **valence** (negative / neutral / positive) and **arousal** (low / high). FER2013 labels
expressions, not affect, so facelab derives affect labels with one documented table placed on Russell's
circumplex model of affect (J. A. Russell, *A circumplex model of affect*, J. Personality and Social Psychology
39(6):1161-1178, 1980): `facelab.affect.mapping`.

* **Emotion CNN**: the expression CNN's trunk (transfer learning) with two small softmax heads, valence and
  arousal, trained on FER2013 Training (the images that copy a PublicTest image dropped) with mapped labels.
* **GRU** over sequences of per-frame trunk features, judging the affect of the whole sequence. Why a GRU:
  sequences run up to 24 frames and a SimpleRNN's gradients fade over that many steps, while the GRU's update
  gate can hold the apex frames and pass over neutral, occluded or dropped ones; it has a quarter fewer weights
  than an LSTM of the same width, which matters with a few thousand training sequences.
* **Baselines**: the `fer` package's mini-Xception and facelab's own 7-class expression CNN, both mapped through
  the same table (probabilities summed per affect class); the majority class; per-frame averaging for sequences.
* **The sequences here are SIMULATED** from still FER2013 faces (`facelab.affect.sequences`): they pass through
  1-3 expressions, and the sequence's affect label follows a documented rule (below). FER2013 has no identity
  labels, so the frames of one sequence are different people."""),
code("""profile = "quick"   # "quick": shipped weights on a PublicTest subset + a short head-training demo; "full": all of PublicTest
seed = 42
results_dir = None  # None: reports/results; `facelab bench` passes a staging folder
eval_n = None       # PublicTest faces evaluated (None: 500 quick, all 3,589 full)
demo_train_n = None # Training faces in the head-training demo (None: 2,000 quick, all full)
demo_epochs = None  # (None: 3 quick, 20 full)
seq_n = None        # evaluation sequences per nuisance level (None: 100 quick, 500 full)""", metadata={"tags": ["parameters"]}),
code("""import json, time, inspect
import numpy as np
import matplotlib.pyplot as plt
from facelab.config import set_seeds
from facelab.evaluation import ResultsWriter, throughput
from facelab.data import FER_LABELS, load_fer2013, train_val_duplicates
from facelab.affect import expression as ex, emotion as em, mapping, sequences as sq, seqmodels, viz
from facelab.affect.baselines import deepface_emotion_unavailable, FerMiniXception
from facelab.affect.metrics import classification_metrics
from facelab.models.runtime import inference_precision
from facelab.models.weights import load_keras

quick = profile == "quick"
eval_n = eval_n or (500 if quick else None)
demo_train_n = demo_train_n or (2000 if quick else None)
demo_epochs = demo_epochs or (3 if quick else 20)
seq_n = seq_n or (100 if quick else 500)
levels = [0.0, 0.5, 1.0] if quick else [0.0, 0.25, 0.5, 0.75, 1.0]
set_seeds(seed)
rw = ResultsWriter("emotion", "Emotion: valence and arousal (FER2013 mapped)", profile=profile, out_dir=results_dir)
DS = "fer2013 (affect mapped)"
V, A = mapping.VALENCE_LABELS, mapping.AROUSAL_LABELS
T0 = time.perf_counter()"""),
md("## 1 · The mapping and the affect class balance"),
code("""rw.table("mapping", mapping.table())
rw.note("Affect labels: " + "; ".join(f"{r['expression']} -> {r['valence']}/{r['arousal']}" for r in mapping.table()) + ". Source: " + mapping.CITATION)
splits = load_fer2013()
dup = train_val_duplicates(splits)
train, val = splits["train"], splits["val"]
rng = np.random.default_rng(seed)
eval_idx = np.sort(rng.choice(len(val), eval_n, replace=False)) if eval_n and eval_n < len(val) else np.arange(len(val))
vx, vy = val.x[eval_idx], val.y[eval_idx]
yv, ya = mapping.expression_to_affect(vy)
tv, ta = mapping.expression_to_affect(train.y[~dup])
fig, axes = plt.subplots(1, 2, figsize=(8, 2.8))
axes[0].bar(V, np.bincount(tv, minlength=3) / len(tv)); axes[0].set_title("valence (Training)")
axes[1].bar(A, np.bincount(ta, minlength=2) / len(ta)); axes[1].set_title("arousal (Training)")
rw.figure(fig, "affect_balance", "Affect class balance of FER2013 Training under the mapping")
rw.note(f"Training images that copy a PublicTest image were dropped: {int(dup.sum())}. Evaluation: PublicTest ({len(eval_idx)} of {len(val)} faces in this {profile} run).")
mapping.table()"""),
md("""## 2 · Training the two heads (transfer from the expression CNN)

The shipped emotion CNN was trained with `facelab train emotion --model cnn --profile full`: trunk frozen,
features of every Training face and its mirror image, heads trained with Adam, the epoch with the best
PublicTest valence + arousal accuracy kept. Here the same recipe runs on a subset as a demo."""),
code("""expr = load_keras("affect_expression_cnn")
trunk = ex.feature_extractor(expr)
keep = np.flatnonzero(~dup)
sub = keep if demo_train_n is None else np.random.default_rng(seed).choice(keep, demo_train_n, replace=False)
t0 = time.perf_counter()
f_tr = ex.predict_proba(trunk, train.x[sub]); f_va = ex.predict_proba(trunk, vx)
sv, sa = mapping.expression_to_affect(train.y[sub])
heads = em.build_affect_heads(f_tr.shape[1])
hist = em.fit_heads(heads, f_tr, sv, sa, f_va, yv, ya, demo_epochs, seed)
demo_s = time.perf_counter() - t0
fig, ax = plt.subplots(figsize=(5, 3))
for k in ("val_valence_accuracy", "val_arousal_accuracy", "valence_accuracy", "arousal_accuracy"):
    ax.plot(range(1, len(hist[k]) + 1), hist[k], "--" if k.startswith("val") else "-", label=k)
ax.set_xlabel("epoch"); ax.legend(fontsize=7); ax.grid(alpha=0.3)
rw.figure(fig, "head_training", f"Head-training demo on {len(sub)} Training faces (trunk frozen)")
rw.add("emotion CNN heads (demo, this run)", "valence_accuracy", max(hist["val_valence_accuracy"]), "PublicTest", DS, train_faces=len(sub), train_seconds=round(demo_s, 1))
print(f"demo: {len(sub)} faces, {demo_epochs} epochs, {demo_s:.0f} s")"""),
md("## 3 · The shipped emotion CNN against the mapped 7-class models (PublicTest)"),
code("""emo = load_keras("affect_emotion_cnn")
fer_model = FerMiniXception()
preds = {"emotion CNN (two heads)": em.predict_affect(emo, vx),
         "emotion CNN + TTA (mirror)": em.predict_affect(emo, vx, tta=True),
         "expression CNN, mapped": mapping.proba_to_affect(ex.predict_proba(expr, vx)),
         "fer mini-Xception, mapped": mapping.proba_to_affect(fer_model.predict_proba(vx))}
maj_v, maj_a = np.bincount(tv, minlength=3).argmax(), np.bincount(ta, minlength=2).argmax()
preds["majority class"] = (np.eye(3)[np.full(len(vx), maj_v)], np.eye(2)[np.full(len(vx), maj_a)])
rows, reps = [], {}
for name, (pv, pa) in preds.items():
    rv = classification_metrics(yv, pv.argmax(1), V); ra = classification_metrics(ya, pa.argmax(1), A)
    reps[name] = (rv, ra)
    base = name.startswith(("fer", "majority", "expression"))
    for metric, r in (("valence_accuracy", rv), ("arousal_accuracy", ra)):
        rw.add(name, metric, r["accuracy"], "PublicTest", DS, baseline=base, n=r["n"])
    rw.add(name, "valence_macro_f1", rv["macro_f1"], "PublicTest", DS, baseline=base)
    rows.append({"model": name, "valence_accuracy": round(rv["accuracy"], 4), "valence_macro_f1": round(rv["macro_f1"], 4),
                 "arousal_accuracy": round(ra["accuracy"], 4), "arousal_macro_f1": round(ra["macro_f1"], 4)})
sp = throughput(lambda b: em.predict_affect(emo, b), vx[:500])
rw.add("emotion CNN (two heads)", "faces_per_s", sp["items_per_s"], "PublicTest", DS, precision=inference_precision())
rw.table("publictest", rows)
deepface_reason = deepface_emotion_unavailable()  # found at run time
if deepface_reason:
    rw.mark_unavailable("deepface emotion model", deepface_reason)
rows"""),
code("""fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
for k, name in enumerate(("emotion CNN (two heads)", "fer mini-Xception, mapped")):
    viz.plot_confusion(reps[name][0]["confusion_matrix"], V, axes[2 * k], f"{name}: valence")
    viz.plot_confusion(reps[name][1]["confusion_matrix"], A, axes[2 * k + 1], f"{name}: arousal")
fig.tight_layout()
rw.figure(fig, "confusion", "Valence and arousal confusion matrices on PublicTest (row-normalised)")"""),
md("## 4 · Errors with the faces, and saliency"),
code("""pv = preds["emotion CNN (two heads)"][0].argmax(1)
show, titles = [], []
for c in range(3):
    for i in np.flatnonzero((yv == c) & (pv != c))[:6]:
        show.append(vx[i]); titles.append(f"{V[c][:3]}→{V[pv[i]][:3]} ({FER_LABELS[vy[i]]})")
fig = viz.face_grid(show, titles, cols=6, suptitle="Valence errors (true→predicted, FER label)")
rw.figure(fig, "errors", "Valence errors of the emotion CNN on PublicTest, with each face's FER label")
pick = [i for c in range(3) for i in np.flatnonzero((yv == c) & (pv == c))[:2]] or list(range(6))
cams = viz.grad_cam(emo, vx[pick], output=0)
sal = viz.saliency(emo, vx[pick], output=0)
fig = viz.face_grid(np.concatenate([vx[pick], vx[pick]]), [V[yv[i]] + " (Grad-CAM)" for i in pick] + [V[yv[i]] + " (saliency)" for i in pick],
                    cols=6, overlays=np.concatenate([cams, sal]), size=1.6)
rw.figure(fig, "gradcam", "Grad-CAM (top) and gradient saliency (bottom) of the valence head")"""),
md("""## 5 · Sequences (SIMULATED): GRU vs per-frame averaging

The rule for a sequence's affect (`facelab.affect.mapping.sequence_affect`):"""),
code("""print(inspect.getdoc(mapping.sequence_affect))
strips = sq.make_sequences(val, 6, "emotion", nuisance=0.5, seed=seed + 7)
fig, axes = plt.subplots(6, 1, figsize=(14, 6))
for i in range(6):
    sq.film_strip(strips, i, axes[i])
    segs = ", ".join(f"{FER_LABELS[l]}x{a}" for l, a in strips.segments[i])
    axes[i].set_ylabel(f"{V[strips.valence[i]]}/{A[strips.arousal[i]]}\\n{segs}", fontsize=7, rotation=0, ha="right")
fig.tight_layout()
rw.figure(fig, "film_strips", "Simulated emotion sequences from PublicTest faces (nuisance 0.5): label, and the segments (expression x apex frames)")"""),
code("""gru = load_keras("affect_emotion_gru")
seq_rows = []
for i, lv in enumerate(levels):
    s = sq.make_sequences(val, seq_n, "emotion", nuisance=lv, seed=seed + 200 + i)
    r = seqmodels.evaluate_sequences(s, trunk, gru, emo, "emotion")
    seq_rows.append({"nuisance": lv, "n": r["n"], "gru_valence": round(r["seq_valence"], 4), "average_valence": round(r["avg_valence"], 4),
                     "gru_arousal": round(r["seq_arousal"], 4), "average_arousal": round(r["avg_arousal"], 4)})
rw.table("sequences_vs_nuisance", seq_rows)
for key, name, base in (("gru", "affect GRU", False), ("average", "per-frame emotion CNN average", True)):
    for t in ("valence", "arousal"):
        rw.add(name, f"sequence_{t}_accuracy", float(np.mean([r[f"{key}_{t}"] for r in seq_rows])), "PublicTest (simulated sequences)", DS,
               baseline=base, levels=levels, n_per_level=seq_n)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
for ax, t in zip(axes, ("valence", "arousal")):
    ax.plot(levels, [r[f"gru_{t}"] for r in seq_rows], "o-", label="GRU on CNN features")
    ax.plot(levels, [r[f"average_{t}"] for r in seq_rows], "s--", label="per-frame CNN, averaged")
    ax.set_title(t); ax.set_xlabel("nuisance level"); ax.grid(alpha=0.3); ax.legend(fontsize=8)
rw.figure(fig, "sequence_vs_nuisance", "Simulated PublicTest emotion sequences: GRU vs per-frame averaging as nuisance grows")
rw.note("All sequence results are on SIMULATED sequences built from still PublicTest faces (facelab.affect.sequences); frames of one sequence are different people, since FER2013 has no identity labels.")
seq_rows"""),
code("""print(json.dumps(rows, indent=1))
print(f"notebook ran {time.perf_counter() - T0:.0f} s")
rw.write()"""),
md("""## Summary and exercises

**What this notebook showed.** Valence and arousal as two heads on the expression CNN's features, trained on FER2013
classes **mapped** to affect (a mapping of facelab's own, not annotations of valence and arousal), against the 7-class
models mapped the same way, and a GRU over **simulated** sequences against per-frame averaging (`emotion.json`).

**Exercises.**

1. Change the mapping (`facelab/affect/mapping.py`), e.g. "surprise" to negative valence: how do the heads' accuracies
   move, and what does that say about what "accuracy" means for a mapped label?
2. Plot the valence head's probability against the expression CNN's "happy" probability on PublicTest: how much of
   the valence head is just a happy-detector?
3. Add noise to the frames of a simulated sequence (`facelab.affect.sequences`): at which noise level does the GRU's
   advantage over averaging disappear?"""),
]
save(cells, "notebooks/06_emotion.ipynb", "emotion", ["fer2013"], "Emotion (affect)")
