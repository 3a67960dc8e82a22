"""The detection *validation* split: photos built only from training sources, where every detection choice is made.

CMU+MIT A+B is the test set and nothing is tuned on it. The choices that need whole photos (each detector's box map,
the CNN's window calibration, smallest face, pyramid step and operating threshold, the R-CNN's training regions) are
taken here instead, on:

* **composites**: real faces pasted into the face-free scenes that the CNN's hard-negative mining holds out
  (:func:`facelab.detection.patches.split_scenes`, seed 42). The faces are LFW photos of a seeded 20 % of the LFW
  people and ORL subjects 21-40 (the other LFW people, ORL 1-20 and the other scenes make the *training*
  composites of :func:`composite_set` ``("train", ...)``), at sizes from 12 px to most of the photo, anywhere
  (a fifth of them cut by the border), rotated up to 12 degrees, blurred, darkened or washed out, with noise and
  JPEG artefacts; a quarter of the photos are grey. Each face's box comes from dlib's 68 landmarks on its source
  photo, moved with the face, by the face box convention (:func:`facelab.data.face_box_from_points`);
* **dlib's 9 PASCAL VOC photos** (43 faces), boxes from their hand-placed 68 landmarks by the same rule.

Why hand-written compositing: no library pastes landmarked faces into scenes with their boxes; OpenCV does each
step (affine warp, blur, JPEG). Everything is seeded, so the split is the same on every machine.
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from ..config import SEED
from ..preprocess import to_mode

#: share of LFW people, and ORL subjects (by number), that are validation faces: never used to train a detector
LFW_VAL_FRACTION = 0.2
ORL_VAL_SUBJECTS = range(21, 41)
#: longest side of a composite photo (the scenes are up to 1024 px)
MAX_SIDE = 800


def lfw_people_split(seed: int = SEED) -> tuple[list, list]:
    """(training, validation) LFW person folders: a seeded :data:`LFW_VAL_FRACTION` of the people is validation."""
    from ..config import data_home

    root = data_home() / "lfw" / "lfw"
    people = sorted(q for q in root.iterdir() if q.is_dir())
    idx = np.random.default_rng(seed).permutation(len(people))
    n_val = int(round(LFW_VAL_FRACTION * len(people)))
    return [people[i] for i in sorted(idx[n_val:])], [people[i] for i in sorted(idx[:n_val])]


@lru_cache(maxsize=1)
def dlib_hog_and_landmarks():
    """dlib's HOG face detector and 68-point shape predictor (its weights from ``face_recognition_models``), loaded
    once: they label the validation faces and guard the CNN's people-photo negatives."""
    from ..models.peer_files import face_recognition_models_file, import_peer

    dlib = import_peer("dlib", "the detection validation split")
    predictor = dlib.shape_predictor(str(face_recognition_models_file("shape_predictor_68_face_landmarks.dat",
                                                                      "the detection validation split")))
    return dlib.get_frontal_face_detector(), predictor


def landmark_face(image: np.ndarray) -> np.ndarray | None:
    """The 6 convention points (see :func:`facelab.data.detection_sets.points_from_68`) of the largest face dlib's
    HOG detector finds (upsample 1), from ``shape_predictor_68`` of ``face_recognition_models``; None if none."""
    from ..data.detection_sets import points_from_68

    detector, predictor = dlib_hog_and_landmarks()
    grey = np.ascontiguousarray(to_mode(image, "grey"))
    rects = detector(grey, 1)
    if not len(rects):
        return None
    r = max(rects, key=lambda r: r.width() * r.height())
    shape = predictor(grey, r)
    marks = np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], float)
    return points_from_68(marks)


def source_faces(split: str, n: int, seed: int = SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` (BGR photo, 6 points) of faces of ``split`` ("train" or "val"): LFW and ORL drawn 4 : 1, one photo per
    LFW person, any photo of an ORL subject; photos where dlib finds no face are skipped."""
    from ..data.orl import path as orl_path
    from ..preprocess import read_image

    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    rng = np.random.default_rng(seed + (1 if split == "val" else 2))
    train_people, val_people = lfw_people_split(seed)
    people = val_people if split == "val" else train_people
    lfw_files = [sorted(p.glob("*.jpg"))[0] for p in people]
    subjects = ORL_VAL_SUBJECTS if split == "val" else range(1, 21)
    orl_root = orl_path() / "att_faces"
    orl_files = [orl_root / f"s{s}" / f"{k}.pgm" for s in subjects for k in range(1, 11)]
    lfw_files = [lfw_files[i] for i in rng.permutation(len(lfw_files))]
    orl_files = [orl_files[i] for i in rng.permutation(len(orl_files))]
    out, li, oi = [], 0, 0
    while len(out) < n and (li < len(lfw_files) or oi < len(orl_files)):
        use_orl = (len(out) % 5 == 4 and oi < len(orl_files)) or li >= len(lfw_files)
        if use_orl:
            f, oi = orl_files[oi], oi + 1
        else:
            f, li = lfw_files[li], li + 1
        img = read_image(f, "bgr")
        pts = landmark_face(img)
        if pts is not None:
            out.append((img, pts))
    return out


def _soft_mask(size: int) -> np.ndarray:
    """An elliptical mask with a blurred edge: the pasted face fades into the scene instead of showing a square."""
    m = np.zeros((size, size), np.float32)
    c = size // 2
    cv2.ellipse(m, (c, c), (int(size * 0.40), int(size * 0.47)), 0, 0, 360, 1.0, -1)
    k = max(3, (size // 8) | 1)
    return cv2.GaussianBlur(m, (k, k), 0)


def composite_photo(scene: np.ndarray, faces, rng) -> tuple[np.ndarray, np.ndarray]:
    """(photo, convention boxes (K, 4) clipped to it): ``faces`` (photo, 6 points) pasted into ``scene`` (BGR) at
    random sizes and places, without overlapping one another, then the whole photo degraded."""
    from ..data.detection_sets import face_box_from_points
    from ..preprocess import clip_boxes
    from .nms import iou_matrix

    photo = scene.astype(np.float32).copy()
    H, W = photo.shape[:2]
    placed, boxes = [], []
    for img, pts in faces:
        box = face_box_from_points(pts)
        side = box[2]
        # the face's box side in the composite: log-uniform from 12 px to 80 % of the photo's shorter side
        target = float(np.exp(rng.uniform(np.log(14), np.log(0.8 * min(H, W))))) if rng.random() < 0.85 else \
            float(rng.uniform(20, 60))
        scale = target / side
        angle = rng.uniform(-12, 12)
        cut = rng.random() < 0.2
        for _ in range(20):  # a place that does not overlap a face already there
            if cut:  # centre near an edge: part of the face is outside the photo
                cx, cy = rng.uniform(-0.25, 1.25) * target, rng.uniform(0.3, 1.0) * H
                if rng.random() < 0.5:
                    cx = W - cx
                if rng.random() < 0.3:
                    cx, cy = rng.uniform(0, W), rng.uniform(-0.25, 0.25) * target + (0 if rng.random() < 0.5 else H)
            else:
                cx, cy = rng.uniform(target / 2, max(target / 2 + 1, W - target / 2)), \
                    rng.uniform(target / 2, max(target / 2 + 1, H - target / 2))
            new = np.array([cx - target / 2, cy - target / 2, target, target])
            if not placed or iou_matrix(new[None], np.array(placed)).max() == 0:
                break
        else:
            continue
        placed.append(new)
        src_c = box[:2] + side / 2
        M = cv2.getRotationMatrix2D((float(src_c[0]), float(src_c[1])), angle, scale)
        M[:, 2] += (cx, cy) - src_c
        region = int(round(target * 1.5))
        # warp the source into the photo's frame (border replicate: no black edges), blend through the soft mask
        warped = cv2.warpAffine(img, M, (W, H), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        mask = np.zeros((H, W), np.float32)
        m = _soft_mask(max(region, 8))
        x0, y0 = int(round(cx)) - m.shape[1] // 2, int(round(cy)) - m.shape[0] // 2
        mx0, my0, mx1, my1 = max(0, -x0), max(0, -y0), min(m.shape[1], W - x0), min(m.shape[0], H - y0)
        if mx1 > mx0 and my1 > my0:
            mask[y0 + my0:y0 + my1, x0 + mx0:x0 + mx1] = m[my0:my1, mx0:mx1]
        if rng.random() < 0.4:  # lighting of the face differs from the scene's
            warped = np.clip(warped * rng.uniform(0.6, 1.3) + rng.uniform(-25, 25), 0, 255)
        photo = photo * (1 - mask[..., None]) + warped * mask[..., None]
        moved = np.c_[pts, np.ones(len(pts))] @ M.T
        boxes.append(face_box_from_points(moved))
    photo = _degrade(photo, rng)
    return photo, clip_boxes(np.array(boxes).reshape(-1, 4), W, H)


def _degrade(photo: np.ndarray, rng) -> np.ndarray:
    """Blur, gamma and contrast, sensor noise, JPEG, and a quarter of the photos made grey."""
    x = photo / 255.0
    if rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 1.8))
    if rng.random() < 0.4:
        x = np.clip(x, 0, 1) ** np.exp(rng.uniform(-0.5, 0.5))
        m = x.mean()
        x = (x - m) * rng.uniform(0.7, 1.2) + m
    if rng.random() < 0.3:
        x = x + rng.normal(0, rng.uniform(0.01, 0.04), x.shape)
    out = np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if rng.random() < 0.25:
        out = to_mode(out, "grey")
    return out


def composite_set(split: str = "val", n_scenes: int | None = None, n_faces: int = 300, per_scene: int = 2,
                  seed: int = SEED) -> list[dict]:
    """Composites of ``split``: ``per_scene`` photos of each of its scenes (the held-out scenes for "val", the
    training scenes for "train"; the first ``n_scenes``), sharing ``n_faces`` faces of that split, 1 to 8 a photo.
    Items: ``{"name", "image", "boxes"}``."""
    from ..data import list_non_face_scenes
    from .patches import load_scene, split_scenes

    train_scenes, val_scenes = split_scenes(list_non_face_scenes(), seed=seed)
    scenes = (val_scenes if split == "val" else train_scenes)[:n_scenes]
    faces = source_faces(split, n_faces, seed)
    rng = np.random.default_rng(seed + (3 if split == "val" else 4))
    n_photos = len(scenes) * per_scene
    # faces shared out 1 to 8 a photo, every face used about once
    counts = np.clip(rng.poisson(len(faces) / max(n_photos, 1), n_photos), 1, 8)
    items, k = [], 0
    for i in range(n_photos):
        f = scenes[i // per_scene]
        chosen = [faces[(k + j) % len(faces)] for j in range(counts[i])]
        k += counts[i]
        photo, boxes = composite_photo(load_scene(f, MAX_SIDE, mode="bgr"), chosen, rng)
        items.append({"name": f"{split}_{f.stem}_{i % per_scene}", "image": photo, "boxes": boxes})
    return items


def dlib_photos() -> list[dict]:
    """dlib's 9 VOC photos with convention boxes from their hand-placed 68 landmarks (43 faces)."""
    from ..data import load_dlib_boxes
    from ..data.detection_sets import face_box_from_points, points_from_68
    from ..preprocess import clip_boxes, read_image

    items = []
    for split in ("training", "testing"):
        for it in load_dlib_boxes(split, landmarks=True):
            img = read_image(it["path"], "bgr")
            boxes = face_box_from_points(points_from_68(it["landmarks"]))
            items.append({"name": f"dlib_{it['name']}", "image": img,
                          "boxes": clip_boxes(boxes, img.shape[1], img.shape[0])})
    return items


@lru_cache(maxsize=1)
def _validation_set(seed: int) -> tuple:
    return tuple(composite_set("val", seed=seed) + dlib_photos())


def validation_set(seed: int = SEED) -> list[dict]:
    """The whole validation split (cached in the process): 82 composites and dlib's 9 photos.
    Items: ``{"name", "image" (uint8 BGR or grey), "boxes" (K, 4)}``."""
    return list(_validation_set(seed))
