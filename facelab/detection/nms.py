"""Intersection over union and greedy non-maximum suppression on (x, y, w, h) boxes."""
from __future__ import annotations

import numpy as np


def iou_matrix(a, b) -> np.ndarray:
    """IoU between every box of ``a`` (N, 4) and ``b`` (M, 4), both (x, y, w, h): an (N, M) array."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    ax1, ay1 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx1, by1 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1[:, None], bx1[None]) - np.maximum(a[:, 0, None], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay1[:, None], by1[None]) - np.maximum(a[:, 1, None], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def iou(a, b) -> float:
    return float(iou_matrix(a, b)[0, 0])


def nms(boxes, scores, iou_threshold: float = 0.3, max_out: int | None = None) -> np.ndarray:
    """Greedy NMS: indices of the kept boxes, best score first.

    A box is dropped when its IoU with an already kept, higher-scoring box exceeds ``iou_threshold``.
    Ties in score keep the earlier box (stable order).
    """
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    scores = np.asarray(scores, float).reshape(-1)
    if len(boxes) != len(scores):
        raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while len(order):
        i = order[0]
        keep.append(int(i))
        if max_out is not None and len(keep) >= max_out:
            break
        rest = order[1:]
        if not len(rest):
            break
        ious = iou_matrix(boxes[i:i + 1], boxes[rest])[0]
        order = rest[ious <= iou_threshold]
    return np.array(keep, dtype=int)


def containment_suppression(boxes, scores, frac: float = 0.8) -> np.ndarray:
    """Drop a box when ``frac`` of its area lies inside a higher-scoring kept box (small boxes inside big faces)."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    keep: list[int] = []
    for i in order:
        b = boxes[i]
        ok = True
        for k in keep:
            c = boxes[k]
            iw = max(0.0, min(b[0] + b[2], c[0] + c[2]) - max(b[0], c[0]))
            ih = max(0.0, min(b[1] + b[3], c[1] + c[3]) - max(b[1], c[1]))
            if iw * ih >= frac * b[2] * b[3]:
                ok = False
                break
        if ok:
            keep.append(int(i))
    return np.array(keep, dtype=int)
