"""Generator of notebooks/02_detection.ipynb (run from the repository root: python tools/nb_detection.py)."""
import nbformat as nbf

from nbgen import save  # noqa: E402

C = []
md = lambda s: C.append(nbf.v4.new_markdown_cell(s.strip()))
code = lambda s, **kw: C.append(nbf.v4.new_code_cell(s.strip(), **kw))

md("""
# 02 · Detection: a CNN detector and an R-CNN, beside Haar, OpenCV SSD, MTCNN and deepface

Stage 1 of facelab: find every face in a photo. Two deep-learning detectors are built here with Keras and
trained from scratch on real data, then benchmarked in the same run, on the same machine, against the
detectors people already use:

* **CNN detector** (`cnn`): a 36×36 face / non-face classifier made only of valid convolutions and 2×2
  poolings, so it runs *fully convolutionally* over an image pyramid — one forward pass per level scores
  every window at a 4-pixel stride. A tiny first stage (~10 k parameters) looks at the whole pyramid;
  only the windows it passes go to the second stage (~126 k parameters). Then NMS and a calibrated box.
* **R-CNN** (`rcnn`): selective-search proposals, each warped to 48×48, CNN features, a linear SVM
  (as in Girshick et al. 2014), class-specific box regression (applied three times, each moved box scored
  again), NMS.
* **Baselines**: OpenCV Haar cascades (`haar`, `haar-alt2`), OpenCV DNN res10 SSD (`ssd`), MTCNN (`mtcnn`),
  deepface `extract_faces` with the opencv and mtcnn backends.

Data: positives are the 6,713 Caltech WebFaces 36×36 crops (`caltech_web_faces_crops`), negatives come
from 274 face-free scene photos (`non_face_scenes`). **Every choice that needs whole photos is made on the
validation split** (composites of LFW and ORL faces in held-out scenes, and dlib's 9 photos); the **test set** is
CMU+MIT frontal sets A+B (`cmu_mit_frontal_faces`, 76 greyscale images, 326 faces), which nothing is tuned on.
""")
code("""
profile = "quick"      # "quick": CI smoke run (< 2-3 min on 2 cores); "full": the published numbers
seed = 42
results_dir = None     # None: facelab.config.results_dir()
n_images_quick = 8     # CMU+MIT test images (and 2x as many validation photos) evaluated in the quick profile
demo_epochs = 1        # the tiny training demo (the shipped weights are NOT retrained here)
speed_runs = 4         # fresh processes timing the CNN alone beside Haar alt2 (full profile; quick: 1)
""", metadata={"tags": ["parameters"]})
code("""
import json, time, tempfile
from pathlib import Path
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import display, Markdown

from facelab import data
from facelab.config import set_seeds
from facelab.evaluation import ResultsWriter
from facelab.preprocess import read_image
from facelab.detection import DETECTORS, get_detector
from facelab.detection import viz
from facelab.detection.cnn import CNNDetector, WEIGHTS_DIR, WIN
from facelab.detection.patches import augment_faces, random_negatives, load_scene, split_scenes
from facelab.detection.train import train_cnn, positives
from facelab.detection.validation import validation_set
from facelab.detection.calibration import box_maps
from facelab.detection.benchmark import benchmark
from facelab.detection.speed import time_in_fresh_processes
from facelab.detection.metrics import detection_metrics
from facelab.detection.proposals import selective_search

data.require("cmu_mit_frontal_faces", "caltech_web_faces_crops", "non_face_scenes", "lfw", "orl_att_faces",
             "dlib_faces_boxes")
set_seeds(seed)
FULL = profile == "full"
rw = ResultsWriter("detection", "Detection: CNN detector and R-CNN vs Haar, SSD, MTCNN, deepface",
                   profile=profile, out_dir=results_dir)
DATASET = "cmu_mit_frontal_faces"
""")
md("""
## 1. Data for detection

**One face box convention.** Every detector draws its own box (Haar a tight square, SSD a tall one, MTCNN one
down to the chin), so at IoU 0.5 a found face can count as a miss only because of its framing. facelab's
convention (`facelab.data.face_box_from_points`) is a square centred halfway between the eye centre and the mouth
centre, of side 2.3 × the eye-to-mouth distance (2.3: the median over dlib's 43 hand-drawn boxes). The test boxes
of CMU+MIT A+B are built by this rule from the set's official landmarks (`ground_truth_landmarks.txt`; faces cut by
the frame are clipped), and so are the validation boxes.

**Validation split** (`facelab.detection.validation.validation_set`): real faces pasted into the scenes that
hard-negative mining holds out, at sizes from 12 px to most of the photo, a fifth cut by the border, rotated,
blurred, darkened, noisy, JPEG-compressed, a quarter of the photos grey. The faces are LFW photos of a seeded 20 %
of the people and ORL subjects 21-40 (the R-CNN trains on composites of the *other* people, subjects and scenes);
their boxes come from dlib's 68 landmarks on the source photo, moved with the face. Plus dlib's 9 VOC photos, with
boxes from their hand-placed landmarks. The CNN's window calibration, smallest face, pyramid step and operating
threshold, and every other detector's box map, are fitted here; **CMU+MIT A+B is only ever a test set.**
""")
code("""
items = data.load_cmu_mit()
val_items = validation_set(seed)
faces = data.load_caltech_crops()
scene_paths = data.list_non_face_scenes()
widths = np.concatenate([it["boxes"][:, 2] for it in items if len(it["boxes"])])
print(f"CMU+MIT A+B: {len(items)} images, {len(widths)} faces ({sum(len(i['boxes'])==0 for i in items)} face-free images); "
      f"face width min {widths.min():.0f}, median {np.median(widths):.0f}, max {widths.max():.0f} px")
val_widths = np.concatenate([it["boxes"][:, 2] for it in val_items if len(it["boxes"])])
print(f"validation split: {len(val_items)} photos, {len(val_widths)} faces; face width min {val_widths.min():.0f}, "
      f"median {np.median(val_widths):.0f}, max {val_widths.max():.0f} px")
print(f"Caltech crops {faces.shape}, non-face scenes {len(scene_paths)}")
fig, axes = plt.subplots(2, 3, figsize=(14, 8))
ex = max(items, key=lambda i: len(i["boxes"]))
viz.show(axes[0, 0], read_image(ex["path"]), f"test: {ex['name']}, {len(ex['boxes'])} faces"); viz.draw_boxes(axes[0, 0], ex["boxes"])
axes[0, 1].hist([widths, val_widths], bins=np.geomspace(6, 400, 30), label=["test (CMU+MIT)", "validation"])
axes[0, 1].set_xscale("log"); axes[0, 1].legend(fontsize=8); axes[0, 1].set_xlabel("face box width (px)"); axes[0, 1].set_title("face sizes", fontsize=9)
viz.show(axes[0, 2], load_scene(scene_paths[3]), "a non-face scene (negatives)")
for ax, it in zip(axes[1], [val_items[0], val_items[5], next(i for i in val_items if i["name"].startswith("dlib_"))]):
    viz.show(ax, it["image"], f"validation: {it['name']}, {len(it['boxes'])} faces"); viz.draw_boxes(ax, it["boxes"])
rw.figure(fig, "data", "test image with its convention boxes, face sizes of both splits, a non-face scene, three "
          "validation photos"); plt.show()
""")
md("""
## 2. Patches and augmentation

Each Caltech crop is mirrored, then jittered (shift ±3 px, scale ±10 %, rotation ±8°, gamma, contrast,
blur, noise) so that the classifier tolerates the pyramid's 4-px stride and 1.2 scale step and dark or
washed-out faces. Negatives start as random square crops of the scenes at every scale.
""")
code("""
aug = augment_faces(faces[:16], copies=2, seed=seed)
neg = random_negatives([load_scene(p) for p in scene_paths[:30]], 32, seed=seed)
fig, axes = plt.subplots(2, 1, figsize=(12, 5.5))
viz.grid(axes[0], aug, cols=16, title="16 faces, their mirror images, then two jittered copies each")
viz.grid(axes[1], neg, cols=16, title="random negatives from the scenes")
rw.figure(fig, "patches", "training patches: faces with augmentation, random negatives"); plt.show()
""")
md("""
## 3. The sliding window and the image pyramid

The classifier's 36×36 window slides with a 4-px stride; the image is shrunk by a fixed step per level so that the
same window covers larger faces (the step, `scale_step`, was chosen on the validation split too). The largest level is chosen so the smallest face sought (`min_face` in the
settings printed below, chosen on the validation split) fills the window. Because the network is fully convolutional, one forward pass per
level gives the score of every window.
""")
code("""
cnn = get_detector("cnn")
print("stage 1:", cnn.stage1.count_params(), "parameters; stage 2:", cnn.stage2.count_params(), "parameters")
print("settings:", {k: v for k, v in cnn.config.__dict__.items()})
img = read_image(ex["path"])
levels = list(cnn.pyramid(img))
counts = [((l.shape[0] - WIN) // 4 + 1) * ((l.shape[1] - WIN) // 4 + 1) for _, _, l in levels]
print(f"{len(levels)} pyramid levels, {sum(counts)} windows in all:", counts)
show = [0, len(levels) // 3, 2 * len(levels) // 3, len(levels) - 1]
fig, axes = plt.subplots(1, 4, figsize=(14, 3.5))
for ax, k in zip(axes, show):
    sx, sy, lev = levels[k]
    viz.show(ax, lev, f"level {k}: {lev.shape[1]}x{lev.shape[0]}, window = {WIN/sx:.0f} px of the input")
    viz.draw_boxes(ax, [(4, 4, WIN, WIN)], color="red", lw=2)
rw.figure(fig, "pyramid", "the image pyramid with the 36x36 window (red) at four levels"); plt.show()
""")
md("""
## 4. Training, with hard-negative mining

The shipped weights were trained with `facelab train detection --model cnn --profile full` (recipe and
history below). Here, a tiny demo runs the same code for one epoch on a subset, to show the workflow.
Mining: the trained classifier scans all training scenes; every window it scores above 0 is a false alarm
(the scenes hold no faces) and joins the negatives for the next round.
""")
code("""
with tempfile.TemporaryDirectory() as tmp:
    t0 = time.perf_counter()
    demo = train_cnn("quick", out_dir=tmp, seed=seed, progress=False, verbose=0, log=print)
    print(f"demo training: {time.perf_counter() - t0:.0f} s")
shipped = json.loads((WEIGHTS_DIR / "detection_cnn.history.json").read_text())
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
ep0 = 0
for r in shipped["rounds"]:
    h = r["history"]; e = np.arange(ep0, ep0 + len(h["loss"])) + 1
    axes[0].plot(e, h["loss"], "o-", label=f"round {r['round']} train"); axes[0].plot(e, h["val_loss"], "s--", label=f"round {r['round']} val")
    axes[1].plot(e, h["acc"], "o-"); axes[1].plot(e, h["val_acc"], "s--"); ep0 += len(h["loss"])
h = demo["rounds"][0]["history"]
axes[0].plot([1], h["loss"], "kx", ms=10, label="1-epoch demo (subset)")
axes[0].set_xlabel("epoch"); axes[0].set_ylabel("loss"); axes[0].legend(fontsize=7); axes[0].set_yscale("log")
axes[1].set_xlabel("epoch"); axes[1].set_ylabel("accuracy"); axes[1].set_title("validation: held-out crops and held-out scenes", fontsize=9)
rw.figure(fig, "training", "training curves of the shipped CNN (stage 2), by hard-negative round"); plt.show()
rounds = [{"round": r["round"], "epochs": r["epochs"], "negatives": r["negatives"],
           "val_acc": round(r["history"]["val_acc"][-1], 4),
           "false_alarms_on_held_out_scenes": r.get("false_alarms_val_scenes")} for r in shipped["rounds"]]
rw.table("hard_negative_rounds", rounds)
display(rounds)
print("stage 1:", {k: v for k, v in shipped["stage1"].items() if k != "history"}, "training seconds:", round(shipped["seconds"]))
""")
md("""
## 5. Score maps and non-maximum suppression

The second stage's logit at every window of a few pyramid levels (bright = face-like), then every window
above the threshold before NMS and what is left after NMS and box calibration.
""")
code("""
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
for ax, k in zip(axes, [0, len(levels) // 3, 2 * len(levels) // 3]):
    sx, sy, lev = levels[k]
    m = np.asarray(cnn.stage2(lev[None, :, :, None].astype("float32"), training=False))[0, :, :, 0]
    im = ax.imshow(m, cmap="magma", vmin=-10, vmax=5); ax.set_title(f"stage-2 logits, level {k} ({m.shape[1]}x{m.shape[0]})", fontsize=9); ax.axis("off")
fig.colorbar(im, ax=axes, shrink=0.8)
rw.figure(fig, "score_maps", "score maps of the CNN (stage 2) at three pyramid levels"); plt.show()
raw = cnn.windows(img); raw = raw[raw[:, 4] >= cnn.min_score]
final = cnn.postprocess(raw)
fig, axes = plt.subplots(1, 2, figsize=(13, 5))
viz.show(axes[0], img, f"before NMS: {len(raw)} windows above the threshold"); viz.draw_boxes(axes[0], raw[:, :4], "yellow", 0.6)
viz.show(axes[1], img, f"after NMS + calibration: {len(final)} detections (green), truth red"); viz.draw_boxes(axes[1], ex["boxes"], "red", 1)
viz.draw_boxes(axes[1], final[:, :4], "lime", 1.5)
rw.figure(fig, "nms", "windows before and after non-maximum suppression"); plt.show()
""")
md("""
## 6. R-CNN: proposals, warped regions, SVM

Selective search (fast mode, image shrunk to 400 px) proposes regions by grouping superpixels; each is
also added as a square of the same area. Every proposal (grown by 1.5× for context, chosen on the validation
split) is warped to 48×48 and
pushed *separately* through the CNN, whose 36×36 window then sees 4×4 positions: the 64-channel map, max- and
mean-pooled, feeds the linear SVM (tolerant to a proposal a little off the face); flattened, it feeds the box
regression. The SVM's positives are jittered boxes around faces in LFW photos of training people (found by the
CNN detector) and proposals on 80 *training* composites (training scenes, LFW training people, ORL 1-20); its
negatives are all proposals of the training scenes and the composites' background, mined hard twice. The box is
regressed three times, every moved box scored again, then NMS and a suppression of boxes lying mostly inside
a better one. One CNN pass per region (four with the refinement): that per-region cost is why R-CNN is slow, and why Fast/Faster R-CNN and SSD later shared one
convolutional pass over the whole image (as the fully convolutional CNN detector above does).
""")
code("""
rcnn = get_detector("rcnn")
t0 = time.perf_counter(); props = selective_search(img); t_ss = time.perf_counter() - t0
from facelab.detection.nms import iou_matrix
ov = iou_matrix(props, ex["boxes"]).max(0)
print(f"{len(props)} proposals in {t_ss:.2f} s; faces covered at IoU 0.5: {(ov >= 0.5).mean():.2f}, at 0.3: {(ov >= 0.3).mean():.2f}")
r_dets = rcnn.detect(img)
fig, axes = plt.subplots(1, 2, figsize=(13, 5))
viz.show(axes[0], img, f"{len(props)} selective-search proposals"); viz.draw_boxes(axes[0], props, "cyan", 0.4)
viz.show(axes[1], img, f"R-CNN: {len(r_dets)} detections (SVM > threshold, box regression, NMS)")
viz.draw_boxes(axes[1], ex["boxes"], "red", 1); viz.draw_boxes(axes[1], [d.box for d in r_dets], "lime", 1.5)
rw.figure(fig, "rcnn", "R-CNN proposals and detections"); plt.show()
rhist = json.loads((WEIGHTS_DIR / "detection_rcnn.history.json").read_text())
print("R-CNN training:", {k: v for k, v in rhist.items() if k not in ("cnn",)})
""")
md("""
## 7. Benchmark: every detector on the same images

Every detector runs through the registry (its box map to the convention applied, boxes clipped to the photo)
with its lowest useful threshold, so the whole precision–recall curve is available. Each runs on the validation
split (where facelab's choices were made) and on the test set: the drop between them is what a choice fitted on
validation loses on unseen photos.
AP follows PASCAL VOC (all-point interpolation, all images pooled). Recall at 10 / 50 / 167 false positives
is counted over the whole set (167 false positives over the 130 CMU images is the classic operating point of
Rowley et al. and Viola–Jones). Seconds per image are wall-clock on this machine, one image at a time.
""")
code("""
# quick: facelab's and OpenCV's detectors plus the peer libraries (extra["peer"]) not marked slow; full: every one
peers = [n for n, e in DETECTORS.items() if e.extra.get("peer")]
slow = [n for n in peers if DETECTORS[n].extra.get("slow")]
names = DETECTORS.names() if FULL else ["cnn", "rcnn", "haar", "haar-alt2", "ssd"] + [n for n in peers if n not in slow]
for n in ([] if FULL else slow):
    print(f"{n}: skipped in the quick profile: slow"); rw.note(f"{n}: skipped in the quick profile: slow")
eval_items = items if FULL else [i for i in items if len(i["boxes"])][: n_images_quick]
split = "test: sets A+B, all 76 images" if FULL else f"test: sets A+B, first {len(eval_items)} images with faces (quick)"
images = [read_image(it["path"], "bgr") for it in eval_items]
gts = [it["boxes"] for it in eval_items]
val_eval = val_items if FULL else val_items[: 2 * n_images_quick]
val_split = f"validation split, {len(val_eval)} photos" + ("" if FULL else " (quick)")
# the slow peers (dlib-mmod) run on the test set only: on validation they would add minutes and fit nothing
res_val = benchmark([n for n in names if n not in slow], val_eval, progress=False, images=[it["image"] for it in val_eval])
res = benchmark(names, eval_items, progress=False, images=images)
print("box maps to the convention (dx, dy, sw, sh), fitted on the validation split:", box_maps())
rows = []
for name, r in res.items():
    if "unavailable" in r:
        rw.mark_unavailable(name, r["unavailable"]); continue
    m = r["metrics"]; baseline = DETECTORS[name].baseline
    row = {"model": name, "baseline": baseline, **{k: round(v, 4) for k, v in m.items() if isinstance(v, float)}}
    if "metrics" in res_val.get(name, {}):
        mv = res_val[name]["metrics"]
        row["ap30_validation"], row["ap50_validation"] = round(mv["ap30"], 4), round(mv["ap50"], 4)
        row["ap30_drop_val_to_test"] = round(mv["ap30"] - m["ap30"], 4)
        rw.add(name, "ap30", mv["ap30"], val_split, "detection validation split", baseline=baseline)
        rw.add(name, "ap50", mv["ap50"], val_split, "detection validation split", baseline=baseline)
    rows.append(row)
    for k in ("ap50", "ap30", "recall50_at_10fp", "recall50_at_50fp", "recall50_at_167fp", "recall30_at_167fp"):
        rw.add(name, k, m[k], split, DATASET, baseline=baseline)
    rw.add(name, "s_per_image", m["s_per_image"], split, DATASET, baseline=baseline, higher_is_better=False)
    rw.add(name, "mp_per_s", m["mp_per_s"], split, DATASET, baseline=baseline)
rw.table("benchmark", rows)
import pandas as pd
display(pd.DataFrame(rows).set_index("model"))
""")
code("""
fig, axes = plt.subplots(1, 2, figsize=(13, 5))
ok = {k: v for k, v in res.items() if "detections" in v}
viz.pr_plot(axes[0], ok, gts, 0.5); viz.pr_plot(axes[1], ok, gts, 0.3)
rw.figure(fig, "pr_curves", f"precision-recall of every detector, CMU+MIT {split}"); plt.show()
speed = [{"model": r["model"], "s_per_image": r["s_per_image"], "mp_per_s": r["mp_per_s"]} for r in rows]
by_speed = {s["model"]: s["s_per_image"] for s in speed}
rw.table("speed", speed)
# the benchmark above runs every detector in one process, where the other TensorFlow models share the CNN's caches; a
# user's `facelab detect` runs one detector: so the CNN is also timed in fresh processes holding only it and Haar alt2
# (each first pass cold, as a new user's; the later passes warm)
alone = time_in_fresh_processes("cnn", [it["path"] for it in eval_items], runs=speed_runs if FULL else 1,
                                passes=2 if FULL else 1, log=print)
speed_alone = [{"pass": name, **alone[key]} for name, key in
               (("first (cold)", "first_pass_x_reference"), ("later (warm)", "later_passes_x_reference")) if alone[key]]
rw.table("cnn_speed_fresh_processes", speed_alone)
display(Markdown("CNN seconds per image / Haar alt2's, fresh one-detector processes:\\n\\n" + "\\n".join(
    f"- {r['pass']} pass: median {r['median']:.3f}x (range {r['min']:.3f}-{r['max']:.3f}, {r['n']} run(s))" for r in speed_alone)))
fig, ax = plt.subplots(figsize=(7, 3))
ax.barh([s["model"] for s in speed], [s["s_per_image"] for s in speed]); ax.set_xlabel("seconds per image"); ax.set_xscale("log")
rw.figure(fig, "speed", "seconds per image (log scale)"); plt.show()
# speed against accuracy: every detector of the run, the slow peers included
fig, ax = plt.subplots(figsize=(7.5, 4.5))
for r in rows:
    ax.scatter(r["s_per_image"], r["ap30"], marker="s" if not r["baseline"] else "o", s=40,
               color="tab:red" if not r["baseline"] else "tab:blue")
    ax.annotate(r["model"], (r["s_per_image"], r["ap30"]), textcoords="offset points", xytext=(4, 3), fontsize=8)
if "haar-alt2" in by_speed:
    ax.axvline(0.5 * by_speed["haar-alt2"], color="grey", ls="--", lw=1); ax.text(0.5 * by_speed["haar-alt2"], ax.get_ylim()[0], " 0.5x Haar alt2", fontsize=7, va="bottom")
ax.set_xscale("log"); ax.set_xlabel("seconds per image (log)"); ax.set_ylabel(f"AP@0.3, {split}")
ax.set_title("speed and accuracy (facelab red squares, baselines and peers blue)", fontsize=9)
rw.figure(fig, "speed_accuracy", "AP@0.3 against seconds per image, every detector of the run"); plt.show()
""")
md("""
## 8. What the CNN detector misses, and what it takes for a face

At its default operating threshold (fitted on the validation split), the faces it misses (left) and its
false alarms with the highest scores (right), IoU 0.3.
""")
code("""
dets = res["cnn"]["detections"]
misses, fas = viz.misses_and_false_alarms(dets, gts, cnn.min_score)
print(f"at threshold {cnn.min_score}: {len(misses)} missed faces, {len(fas)} false alarms on {len(eval_items)} images")
fig, axes = plt.subplots(2, 10, figsize=(14, 3.4))
for ax in axes.ravel(): ax.axis("off")
for ax, (i, b, _) in zip(axes[0], misses[:10]):
    viz.show(ax, viz.crop_with_margin(images[i], b), eval_items[i]["name"][:12])
for ax, (i, b, s) in zip(axes[1], fas[:10]):
    viz.show(ax, viz.crop_with_margin(images[i], b, 0.1), f"{s:.1f}")
rw.figure(fig, "gallery", "top row: missed faces; bottom row: highest-scoring false alarms (CNN)"); plt.show()
rw.table("cnn_errors", [{"missed_faces": len(misses), "false_alarms": len(fas), "threshold": cnn.min_score,
                         "images": len(eval_items)}]);
""")
md("""
## 9. Targets and discussion
""")
code("""
by = {r["model"]: r for r in rows}
lines = []
if "cnn" in by:
    c = by["cnn"]
    base = {k: v for k, v in by.items() if v["baseline"]}
    best_base = max(base, key=lambda k: base[k]["ap30"]) if base else None
    lines.append(f"- CNN detector: AP@0.3 {c['ap30']:.3f}, AP@0.5 {c['ap50']:.3f}, {c['s_per_image']*1000:.0f} ms/image "
                 f"on the test set; validation AP@0.3 {c.get('ap30_validation', float('nan')):.3f} "
                 f"(drop {c.get('ap30_drop_val_to_test', float('nan')):+.3f}).")
    if best_base:
        lines.append(f"- best baseline at IoU 0.3: {best_base} {base[best_base]['ap30']:.3f}; "
                     f"CNN {'beats' if c['ap30'] > base[best_base]['ap30'] else 'does NOT beat'} every baseline.")
    if "haar-alt2" in by:
        ratio = c["s_per_image"] / by["haar-alt2"]["s_per_image"]
        cold = alone["first_pass_x_reference"]
        lines.append(f"- speed (target <= 0.5x Haar alt2's time per image): in fresh processes holding only the CNN and "
                     f"Haar alt2, as a user's runs, the CNN takes {cold['median']:.2f}x on a cold first pass (median of "
                     f"{cold['n']} run(s), range {cold['min']:.2f}-{cold['max']:.2f}): "
                     f"{'met' if cold['median'] <= 0.5 else 'MISSED'}; in this benchmark, every detector in one "
                     f"process, {ratio:.2f}x." + ("" if FULL else " (quick subset: not the benchmark)"))
    fast_peers = [k for k, v in base.items() if "haar-alt2" in by and v["s_per_image"] <= by["haar-alt2"]["s_per_image"]]
    beaten = all(c["ap30"] >= base[k]["ap30"] and c["ap50"] >= base[k]["ap50"] for k in fast_peers)
    lines.append(f"- target (CNN >= every peer within Haar alt2's time, AP@0.3 and AP@0.5: {', '.join(fast_peers)}): "
                 f"{'met' if beaten else 'MISSED'}" + ("" if FULL else " (quick subset: not the benchmark)"))
if "rcnn" in by and "haar" in by:
    lines.append(f"- R-CNN AP@0.3 {by['rcnn']['ap30']:.3f} vs Haar default {by['haar']['ap30']:.3f}: "
                 f"{'beats' if by['rcnn']['ap30'] > by['haar']['ap30'] else 'does NOT beat'} it; "
                 f"{by['rcnn']['s_per_image']:.2f} s/image.")
gaps = {k: (v["ap50"], v["ap30"]) for k, v in by.items() if v["ap30"] - v["ap50"] > 0.05}
if gaps:
    lines.append("- box style: " + "; ".join(f"{k} AP@0.5 {a:.3f} but AP@0.3 {b:.3f}" for k, (a, b) in gaps.items())
                 + " (their boxes are drawn differently from the ground truth's, see below).")
for l in lines: rw.note(l.lstrip("- "))
display(Markdown("\\n".join(lines)))
""")
md("""
**Box styles.** AP at IoU 0.5 punishes a detector whose boxes are drawn differently from the ground truth,
even when it finds the face. Here every detector's boxes go through its box map to facelab's convention (printed
above; fitted on the validation split by `facelab train box-calibration`), so AP@0.5 compares finding and framing
alike, and AP@0.3 mostly finding. The CNN's window-to-box calibration plays the same role inside its config; the
R-CNN's box regression was trained on training composites. What was *not* refitted on validation: the CNN's stage
weights come from an earlier round in which one half of CMU+MIT judged the training, so the test numbers are not
fully untouched for that choice (its speed settings, chosen there too at first, are now chosen on validation). The R-CNN's warp size (48), first chosen there too, was since compared on
validation with 36 and 56, each retrained (`docs/benchmarks/rcnn_warp_size.py`), and stays; its box-regression
steps and suppression rule are now chosen on the validation split.

**What is hard.** The gallery shows the misses: typically faces that are very dark, halftone-printed, drawn
(cartoons, line drawings), tilted by more than the ±8° seen in training, or smaller than the 28-px minimum face. The false alarms
are face-like textures (a few eye–nose–mouth-shaped dark blobs). A frontal 36×36 greyscale window cannot see
context, which is where modern detectors (SSD/RetinaFace-style, trained on WIDER FACE) gain.

**Speed.** The CNN detector shares one convolutional pass between all windows: the pyramid levels are packed
into one canvas, so the tiny first stage scores the whole pyramid in a single call, and only the local maxima (3x3)
of its score map above a threshold are cut out and scored, in one batch, by the larger network. The speed
settings (`stage1_peaks` with a 3x3 neighbourhood, `stage1_threshold=-2`, each level resized from the previous
one) are chosen on the validation split together with the smallest face and the pyramid step
(`facelab.detection.train.calibrate_cnn`, `docs/benchmarks/cnn_speed_settings.py`): of the settings within 0.4x
Haar alt2's time there, the fastest within 0.005 of the best F1 at IoU 0.5, each judged at the highest threshold
within 0.005 of its best F1 (F1 is flat near its peak, and a second box on a one-face photo costs a user more),
among those that leave at most 1 % of 600 LFW photos without a face. (They were first chosen by hand on one half of
CMU+MIT; the validation rule kept all of them but the stage-1 threshold, -3 then.) The speed table compares every detector measured in the same run (detectors take turns image by image, so a
busy shared machine slows them alike, but the seconds themselves vary from run to run). Beside it, the CNN is timed as a user's process runs it: fresh
processes holding only it and Haar alt2 (the other TensorFlow models of this run slow it down). The R-CNN
spends about half a second on selective search and then runs the CNN once per proposal (and again for each of
the three box-refinement steps): slow, as the original
was (about 47 s per image for VGG-16 on a 2014 GPU); its value here is didactic.

**Caveat.** 76 images and 326 faces is a small test set: one face is 0.3 percentage points of recall.
The validation split is built from other sources (pasted faces, dlib's photos), so its numbers are not
comparable in level with the test's; the drop column shows how each detector fares on photos unlike its
tuning data.
""")
md("""
## Summary and exercises

**What this notebook showed.** Two learned detectors (a sliding-window CNN and an R-CNN over selective-search
proposals) against Haar cascades, OpenCV's SSD, MTCNN and deepface's detectors on CMU+MIT A+B, with AP at IoU 0.5
and 0.3, recall at fixed false positives and seconds per image (the tables above and `detection.json`). Every
choice and box map was fitted on the validation split; CMU+MIT A+B is the test set.

**Exercises.**

1. Lower the CNN detector's `min_score` (`DETECTORS.create("cnn", min_score=...)`) and plot recall at 50 false
   positives against it: where does precision collapse?
2. Run the detectors on a photo of your own with faces near the image border: which ones miss a face cut by the
   border, and why does a sliding window struggle there?
3. Compare AP@0.3 and AP@0.5 per detector: which detectors lose most at the stricter overlap, and what does that say
   about their box framing rather than their ability to find the face?
""")
code("""
out = rw.write()
print("results written to", out)
""")
save(C, "notebooks/02_detection.ipynb", "detection",
     ["cmu_mit_frontal_faces", "caltech_web_faces_crops", "non_face_scenes", "lfw", "orl_att_faces", "dlib_faces_boxes"],
     "Detection")
print("ok")
