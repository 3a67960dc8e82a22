"""Region proposals for the R-CNN: selective search (opencv-contrib ``ximgproc``, fast mode) on a downscaled image.

Selective search groups superpixels by colour, texture, size and fill into a few hundred boxes that
together cover most objects. On CMU+MIT (greyscale photos) with the image shrunk to 300 px on its longer side,
the fast mode covers nearly every face at IoU 0.3 (about two thirds at IoU 0.5, which the box regression
then tightens) with a few hundred boxes per image, in about half a second. Because faces are roughly
square and the classifier sees a square warp, each proposal is also added as a square of the same area.
"""
from __future__ import annotations

import cv2
import numpy as np

from .base import as_bgr
from .nms import nms


def _seed_c_rand(seed: int = 1) -> None:
    """Reset C's ``rand()``: OpenCV's selective search ranks its regions with it, so without this an image's
    proposals (and the R-CNN's boxes) depended on every selective search run before it in the process (the same
    photo gave other boxes as the second image of a batch than as the first). Seed 1 is ``rand()``'s own start, so
    each image now gets the proposals a fresh process gives it. Written by hand because OpenCV exposes no seed for
    it (``cv2.setRNGSeed`` seeds its own generator, which selective search does not use)."""
    import ctypes

    try:
        ctypes.CDLL(None).srand(seed)
    except (OSError, AttributeError):  # no C library to reach (not on Linux or macOS): proposals stay unseeded
        pass


def selective_search(image: np.ndarray, max_side: int = 300, mode: str = "fast", squares: bool = True,
                     min_size: float = 16.0, max_aspect: float = 2.0, dedupe_iou: float = 0.9,
                     max_boxes: int | None = 2000) -> np.ndarray:
    """Proposals as (N, 4) float x, y, w, h in input pixels."""
    bgr = as_bgr(image)
    H, W = bgr.shape[:2]
    s = min(1.0, max_side / max(H, W))
    small = cv2.resize(bgr, (max(1, round(W * s)), max(1, round(H * s))), interpolation=cv2.INTER_AREA) if s < 1 else bgr
    ss = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
    _seed_c_rand()
    ss.setBaseImage(small)
    (ss.switchToSelectiveSearchFast if mode == "fast" else ss.switchToSelectiveSearchQuality)()
    r = ss.process().astype(float).reshape(-1, 4)
    sx, sy = W / small.shape[1], H / small.shape[0]
    r[:, [0, 2]] *= sx
    r[:, [1, 3]] *= sy
    if squares and len(r):
        side = np.sqrt(r[:, 2] * r[:, 3])
        cx, cy = r[:, 0] + r[:, 2] / 2, r[:, 1] + r[:, 3] / 2
        sq = np.stack([cx - side / 2, cy - side / 2, side, side], 1)
        r = np.concatenate([r, sq])
    if not len(r):
        return r
    ok = (r[:, 2] >= min_size) & (r[:, 3] >= min_size) & (r[:, 2] / r[:, 3] <= max_aspect) & (r[:, 3] / r[:, 2] <= max_aspect)
    r = r[ok]
    if dedupe_iou and len(r):
        # near-identical boxes add cost, not recall; prefer smaller ones (faces are small regions)
        r = r[nms(r, -r[:, 2] * r[:, 3], dedupe_iou)]
    if max_boxes and len(r) > max_boxes:
        r = r[:max_boxes]
    return r


def warp_regions(grey: np.ndarray, boxes: np.ndarray, size: int = 36) -> np.ndarray:
    """Cut every box (clipped to the image; outside filled by edge replication) and warp it to size x size."""
    H, W = grey.shape
    out = np.empty((len(boxes), size, size), np.uint8)
    for k, (x, y, w, h) in enumerate(boxes):
        # affine map from the box to the output square: handles boxes past the border
        M = np.array([[size / w, 0, -x * size / w], [0, size / h, -y * size / h]], np.float32)
        interp = cv2.INTER_AREA if w > size * 1.5 else cv2.INTER_LINEAR
        if interp == cv2.INTER_AREA:
            x0, y0 = int(max(0, np.floor(x))), int(max(0, np.floor(y)))
            x1, y1 = int(min(W, np.ceil(x + w))), int(min(H, np.ceil(y + h)))
            if x1 - x0 >= 2 and y1 - y0 >= 2 and x0 <= x and y0 <= y and x1 >= x + w - 1 and y1 >= y + h - 1:
                out[k] = cv2.resize(grey[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA)
                continue
        out[k] = cv2.warpAffine(grey, M, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out
