"""Detection metrics over a whole image set: AP (VOC all-point interpolation), recall at N false positives, speed.

Matching follows PASCAL VOC: detections of all images are ranked by score; each, in turn, is a true
positive when its best-overlapping ground-truth face (IoU >= threshold) is not yet taken, otherwise a
false positive. AP is the area under the precision-recall curve with precision made monotone
(all-point interpolation, VOC 2010+).
"""
from __future__ import annotations

import time
from typing import Iterable, Sequence

import numpy as np

from .nms import iou_matrix


def match_image(dets, gt, iou_threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's matching: (its detections (K, 5) in descending score order, each one's true-positive flag, each
    ground-truth face's found flag). Greedy in score order as PASCAL VOC matches; ties keep the detector's order."""
    arr = _as_array(dets)
    arr = arr[np.argsort(-arr[:, 4], kind="stable")]
    gt = np.asarray(gt, float).reshape(-1, 4)
    found = np.zeros(len(gt), bool)
    tp = np.zeros(len(arr), bool)
    if len(gt) and len(arr):
        ov = iou_matrix(arr[:, :4], gt)
        for j in range(len(arr)):
            k = int(np.argmax(ov[j]))
            if ov[j, k] >= iou_threshold and not found[k]:
                found[k] = tp[j] = True
    return arr, tp, found


def match_detections(dets_per_image: Sequence, gts_per_image: Sequence, iou_threshold: float = 0.5):
    """Rank all detections; return (scores sorted descending, tp flags, number of ground-truth faces).

    ``dets_per_image[i]``: list of :class:`Detection` or array (K, 5) of x, y, w, h, score.
    ``gts_per_image[i]``: array (M, 4) of x, y, w, h.
    A detection's flag depends only on its own image's higher-scoring ones, so each image is matched alone
    (:func:`match_image`) and the flags ranked together after.
    """
    if len(dets_per_image) != len(gts_per_image):
        raise ValueError("one detection list per ground-truth image is needed")
    scores, flags = [np.zeros(0)], [np.zeros(0, bool)]
    for dets, gt in zip(dets_per_image, gts_per_image):
        arr, tp, _ = match_image(dets, gt, iou_threshold)
        scores.append(arr[:, 4])
        flags.append(tp)
    scores, flags = np.concatenate(scores), np.concatenate(flags)
    order = np.argsort(-scores, kind="stable")
    n_gt = int(sum(len(np.asarray(g).reshape(-1, 4)) for g in gts_per_image))
    return scores[order], flags[order], n_gt


def _as_array(dets) -> np.ndarray:
    if isinstance(dets, np.ndarray):
        return dets.reshape(-1, 5).astype(float)
    return np.array([[*d.box, d.score] for d in dets], float).reshape(-1, 5)


def pr_curve(tp: np.ndarray, n_gt: int) -> tuple[np.ndarray, np.ndarray]:
    tp = np.asarray(tp, bool)
    ctp = np.cumsum(tp)
    cfp = np.cumsum(~tp)
    recall = ctp / max(n_gt, 1)
    precision = ctp / np.maximum(ctp + cfp, 1)
    return recall, precision


def average_precision(tp: np.ndarray, n_gt: int) -> float:
    """VOC all-point interpolated AP from ranked true-positive flags."""
    if n_gt == 0:
        return float("nan")
    recall, precision = pr_curve(tp, n_gt)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def recall_at_fp(tp: np.ndarray, n_gt: int, n_fp: int) -> float:
    """Highest recall reached with at most ``n_fp`` false positives over the whole set."""
    tp = np.asarray(tp, bool)
    if n_gt == 0:
        return float("nan")
    cfp = np.cumsum(~tp)
    ok = cfp <= n_fp
    return float(np.cumsum(tp)[ok].max() / n_gt) if ok.any() else 0.0


def detection_metrics(dets_per_image, gts_per_image, fps: Iterable[int] = (10, 50, 167)) -> dict:
    """AP@0.5, AP@0.3, recall at the given false-positive counts (matched at IoU 0.5 and 0.3)."""
    out = {}
    for thr, tag in ((0.5, "50"), (0.3, "30")):
        _, tp, n_gt = match_detections(dets_per_image, gts_per_image, thr)
        out[f"ap{tag}"] = average_precision(tp, n_gt)
        for n in fps:
            out[f"recall{tag}_at_{n}fp"] = recall_at_fp(tp, n_gt, n)
    out["faces"] = int(sum(len(np.asarray(g).reshape(-1, 4)) for g in gts_per_image))
    out["detections"] = int(sum(len(_as_array(d)) for d in dets_per_image))
    return out


def at_threshold(dets_per_image, gts_per_image, threshold: float) -> dict:
    """Detections kept down to the lowest threshold: AP@0.3 / AP@0.5 over them all, and at ``threshold`` (an operating
    threshold) the faces found and the false boxes, matched at IoU 0.5."""
    m = detection_metrics(dets_per_image, gts_per_image)
    kept = [d[d[:, 4] >= threshold] for d in map(_as_array, dets_per_image)]
    _, tp, n_gt = match_detections(kept, gts_per_image, 0.5)
    return {"ap30": round(float(m["ap30"]), 4), "ap50": round(float(m["ap50"]), 4), "faces": n_gt,
            "found_at_operating": int(tp.sum()), "false_boxes_at_operating": int((~tp).sum())}


def operating_point(detector, items) -> dict:
    """:func:`at_threshold` of ``detector`` on ``items`` (``{"image", "boxes"}``) at its own ``min_score``: it runs
    once at the lowest threshold, and its ``min_score`` is restored after."""
    operating = detector.min_score
    detector.min_score = -1e9
    try:
        dets = [_as_array(detector.detect(it["image"])) for it in items]
    finally:
        detector.min_score = operating
    return at_threshold(dets, [it["boxes"] for it in items], operating)


def run_detector(detector, images: Sequence[np.ndarray], progress: bool = False, desc: str = "") -> dict:
    """Detect on every image; per-image detections as (K, 5) arrays plus timing (seconds/image, MP/s)."""
    from tqdm.auto import tqdm

    dets, seconds = [], []
    it = tqdm(images, desc=desc or getattr(detector, "name", "detect"), disable=not progress, leave=False)
    for im in it:
        t0 = time.perf_counter()
        d = detector.detect(im)
        seconds.append(time.perf_counter() - t0)
        dets.append(_as_array(d))
    total = float(np.sum(seconds))
    mp = float(sum(im.shape[0] * im.shape[1] for im in images)) / 1e6
    return {"detections": dets, "seconds": seconds, "s_per_image": total / max(len(images), 1),
            "mp_per_s": mp / total if total > 0 else float("inf")}


def evaluate(detector, images, gts, progress: bool = False, warmup: bool = True) -> dict:
    """:func:`run_detector` + :func:`detection_metrics` (one warm-up call first, so no model-loading time counts)."""
    if warmup and len(images):
        detector.detect(images[0])
    run = run_detector(detector, images, progress=progress)
    m = detection_metrics(run["detections"], gts)
    m.update(s_per_image=run["s_per_image"], mp_per_s=run["mp_per_s"])
    return {"metrics": m, "detections": run["detections"], "seconds": run["seconds"]}
