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
    over = iou_matrix(boxes[order], boxes[order]) > iou_threshold  # one matrix, then a cheap greedy pass
    return order[_greedy(over, max_out)]


def _greedy(over: np.ndarray, max_out: int | None = None) -> np.ndarray:
    alive = np.ones(len(over), bool)
    keep = []
    for i in range(len(over)):
        if not alive[i]:
            continue
        keep.append(i)
        if max_out is not None and len(keep) >= max_out:
            break
        alive &= ~over[i]
    return np.array(keep, dtype=int)


def containment_suppression(boxes, scores, frac: float = 0.8) -> np.ndarray:
    """Drop a box when ``frac`` of its area lies inside a higher-scoring kept box (small boxes inside big faces)."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    return order[_greedy(lies_inside(boxes[order], frac))]


def lies_inside(b: np.ndarray, frac: float) -> np.ndarray:
    """(N, N) booleans: [i, j] when ``frac`` of box j's area lies inside box i (never a box in itself)."""
    inside = intersection_areas(b) >= frac * (b[:, 2] * b[:, 3])[None]
    np.fill_diagonal(inside, False)
    return inside


def group_suppression(boxes, frac: float = 0.75, holds: int = 2) -> np.ndarray:
    """Indices of the boxes kept: a box is dropped when ``holds`` or more of the other boxes lie (``frac`` of their
    area) inside it. After :func:`containment_suppression` those are better-scoring boxes: a window over a group of
    faces scores as a face, but a face holds no two faces."""
    return np.nonzero(lies_inside(np.asarray(boxes, float).reshape(-1, 4), frac).sum(1) < holds)[0]


def iomin_suppression(boxes, scores, frac: float = 0.8) -> np.ndarray:
    """Indices kept, best first: a box is dropped when ``frac`` of the smaller of it and a better-scoring kept box
    lies inside the other (intersection over the minimum area), whichever of the two is the bigger."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    b = boxes[order]
    a = b[:, 2] * b[:, 3]
    over = intersection_areas(b) >= frac * np.minimum(a[:, None], a[None])
    np.fill_diagonal(over, False)
    return order[_greedy(over)]


def intersection_areas(b: np.ndarray) -> np.ndarray:
    """(N, N) pairwise intersection areas of x, y, w, h boxes."""
    x1, y1 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(x1[:, None], x1[None]) - np.maximum(b[:, 0, None], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(y1[:, None], y1[None]) - np.maximum(b[:, 1, None], b[None, :, 1]), 0, None)
    return iw * ih
