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


def _dlib_photos_unclipped() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, BGR photo, convention boxes from the hand-placed 68 landmarks, not clipped) of dlib's 9 VOC photos."""
    from ..data import load_dlib_boxes
    from ..data.detection_sets import face_box_from_points, points_from_68
    from ..preprocess import read_image

    return [(f"dlib_{it['name']}", read_image(it["path"], "bgr"), face_box_from_points(points_from_68(it["landmarks"])))
            for split in ("training", "testing") for it in load_dlib_boxes(split, landmarks=True)]


def dlib_photos() -> list[dict]:
    """dlib's 9 VOC photos with convention boxes from their hand-placed 68 landmarks (43 faces)."""
    from ..preprocess import clip_boxes

    return [{"name": name, "image": img, "boxes": clip_boxes(boxes, img.shape[1], img.shape[0])}
            for name, img, boxes in _dlib_photos_unclipped()]


@lru_cache(maxsize=1)
def _validation_set(seed: int) -> tuple:
    return tuple(composite_set("val", seed=seed) + dlib_photos())


def validation_set(seed: int = SEED) -> list[dict]:
    """The whole validation split (cached in the process): 82 composites and dlib's 9 photos.
    Items: ``{"name", "image" (uint8 BGR or grey), "boxes" (K, 4)}``."""
    return list(_validation_set(seed))


#: how much of a border-cut face lies outside the photo, as a share of its box side (uniform in this range)
BORDER_CUT_SHARE = (0.1, 0.5)
_SIDES = ("left", "right", "top", "bottom")


def fill_margin(image: np.ndarray, dark: int = 8, share: float = 0.01, most: int = 60) -> int | None:
    """The narrowest even margin whose removal leaves an outer ring of pixels at most ``share`` near black, None past
    ``most`` px. Why: LFW's photos were cut from rotated news photos, and most carry black wedges at their corners;
    a photo that cuts a face has picture up to its frame. Hand-written, as OpenCV has no inscribed-rectangle call."""
    grey = to_mode(image, "grey")
    for m in range(0, most + 1, 2):
        c = grey[m:grey.shape[0] - m, m:grey.shape[1] - m]
        ring = np.concatenate([c[0], c[-1], c[:, 0], c[:, -1]])
        if (ring < dark).mean() <= share:
            return m
    return None


def cut_share(full: np.ndarray, width: float, height: float) -> np.ndarray:
    """The share of each box (K, 4) lying outside a ``width`` x ``height`` photo (0 for a face wholly inside)."""
    from ..preprocess import clip_boxes

    full = np.asarray(full, float).reshape(-1, 4)
    kept = clip_boxes(np.c_[full, np.arange(len(full))], width, height, min_side=0.0)
    share = np.ones(len(full))
    k = kept[:, 4].astype(int)
    share[k] = np.clip(1 - kept[:, 2] * kept[:, 3] / (full[k, 2] * full[k, 3]), 0, 1)
    return share


def cut_by_frame(image: np.ndarray, boxes: np.ndarray, face: int, side: str, share: float) -> tuple:
    """(photo, its boxes, each box's share outside it, its (x, y) offset in ``image``): ``image`` cropped so that
    ``share`` of face ``face``'s box lies past its ``side`` edge; the other edges stay where they were, so only real
    pixels remain."""
    H, W = image.shape[:2]
    x, y, w, h = boxes[face]
    x0, y0, x1, y1 = 0, 0, W, H
    if side == "left":
        x0 = int(round(x + share * w))
    elif side == "right":
        x1 = int(round(x + (1 - share) * w))
    elif side == "top":
        y0 = int(round(y + share * h))
    elif side == "bottom":
        y1 = int(round(y + (1 - share) * h))
    else:
        raise ValueError(f"side must be one of {_SIDES}, got {side!r}")
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
    moved = np.asarray(boxes, float).reshape(-1, 4) - [x0, y0, 0, 0]
    return np.ascontiguousarray(image[y0:y1, x0:x1]), moved, cut_share(moved, x1 - x0, y1 - y0), (x0, y0)


def border_cut_photos(n_lfw: int = 60, seed: int = SEED, cut: bool = True) -> list[dict]:
    """Real photos with one face cut by the frame, for validation only (never a test set, and not part of
    :func:`validation_set`, whose choices stand): a seeded ``n_lfw`` LFW photos of the validation people (one a
    person; black corner wedges cropped off by :func:`fill_margin`, photos dark to the frame skipped) and dlib's 9
    VOC photos, each cropped so that a share in :data:`BORDER_CUT_SHARE` of one face's box (LFW: its person; VOC: a
    seeded face) lies past a seeded edge. Unlike the composites, whose pasted faces fade into scenes, the face's
    hair, neck and background stay, as when a photo cuts a face. ``cut=False`` gives the same photos uncropped: the
    control. Items: ``{"name", "image", "boxes" (K, 4, clipped), "full" (K, 4, unclipped), "cut" (K: share outside
    the photo), "target" (the cut face's index), "side", "offset" (x, y of the crop in the uncut photo)}``. LFW
    backgrounds hold other, unlabelled faces now and then: count a box off every labelled face as a false box only
    with that in mind."""
    from ..data.detection_sets import face_box_from_points
    from ..preprocess import clip_boxes, read_image

    rng = np.random.default_rng(seed + 5)
    _, val_people = lfw_people_split(seed)
    sources = []
    for i in rng.permutation(len(val_people)):
        if len(sources) == n_lfw:
            break
        f = sorted(val_people[i].glob("*.jpg"))[0]
        img = read_image(f, "bgr")
        m = fill_margin(img)
        if m is None:  # dark to the frame: a black background or wide wedges
            continue
        img = np.ascontiguousarray(img[m:img.shape[0] - m, m:img.shape[1] - m])
        pts = landmark_face(img)
        if pts is None:
            continue
        box = face_box_from_points(pts)[None]
        if cut_share(box, img.shape[1], img.shape[0])[0] == 0:  # the face is whole before it is cut
            sources.append((f"lfw_{f.stem}", img, box, 0))
    for name, img, full in _dlib_photos_unclipped():
        sources.append((name, img, full, int(rng.integers(len(full)))))
    items = []
    for name, img, full, face in sources:
        side, share = _SIDES[int(rng.integers(4))], float(rng.uniform(*BORDER_CUT_SHARE))
        offset = (0, 0)
        if cut:
            img, full, shares, offset = cut_by_frame(img, full, face, side, share)
        else:
            shares = cut_share(full, img.shape[1], img.shape[0])
        inside = shares < 1
        full, shares = full[inside], shares[inside]
        items.append({"name": f"{name}_cut_{side}_{share:.2f}" if cut else name, "image": img,
                      "boxes": clip_boxes(full, img.shape[1], img.shape[0], min_side=0.0), "full": full,
                      "cut": shares, "target": int(np.cumsum(inside)[face] - 1), "side": side, "offset": offset})
    return items


#: bins of the share outside the photo that :func:`border_cut_recall` reports the cut faces in
CUT_BINS = (0.1, 0.2, 0.3, 0.4, 0.5)


def border_cut_recall(dets_per_image, items, iou_threshold: float = 0.5, shares=None) -> dict:
    """What a detector's boxes (per item, at its operating threshold; clipped to the photo, as the faces are) find on
    :func:`border_cut_photos` items: the cut faces found, in all and per :data:`CUT_BINS` bin, the other faces found,
    and the boxes that match no labelled face (by IoU 0.3 or more). ``shares``: the share to bin each item's face by
    (default its own; for the uncut control, the cut photos' shares)."""
    from ..preprocess import clip_boxes
    from .metrics import _as_array, match_image

    cut_found, cut_share_, other, off = [], [], [], 0
    for dets, it in zip(dets_per_image, items):
        h, w = it["image"].shape[:2]
        arr = clip_boxes(_as_array(dets), w, h)
        found = match_image(arr, it["boxes"], iou_threshold)[2]
        off += int((~match_image(arr, it["boxes"], 0.3)[1]).sum())
        t = it["target"]
        cut_found.append(bool(found[t]))
        cut_share_.append(float(it["cut"][t]))
        other += [bool(f) for k, f in enumerate(found) if k != t]
    cut_found = np.array(cut_found)
    cut_share_ = np.array(cut_share_ if shares is None else shares, float)
    bins = np.digitize(cut_share_, CUT_BINS[1:-1])
    return {"iou": iou_threshold, "cut_faces_found": f"{cut_found.sum()}/{len(cut_found)}",
            "by_share_outside": {f"{lo:.1f}-{hi:.1f}": f"{cut_found[bins == b].sum()}/{(bins == b).sum()}"
                                 for b, (lo, hi) in enumerate(zip(CUT_BINS, CUT_BINS[1:]))},
            "other_faces_found": f"{sum(other)}/{len(other)}", "boxes_off_every_face": off}
