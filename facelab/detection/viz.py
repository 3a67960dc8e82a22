"""Figures for the detection notebook: boxes on images, pyramids, score maps, PR curves, galleries."""
from __future__ import annotations

import numpy as np

from .base import as_grey
from .metrics import match_detections, pr_curve
from .nms import iou_matrix
from .registry import DETECTORS


def show(ax, image, title: str = "") -> None:
    ax.imshow(as_grey(image), cmap="gray", vmin=0, vmax=255)
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def draw_boxes(ax, boxes, color="lime", lw=1.2, scores=None) -> None:
    from matplotlib.patches import Rectangle

    for k, b in enumerate(np.asarray(boxes, float).reshape(-1, 4)):
        ax.add_patch(Rectangle((b[0], b[1]), b[2], b[3], fill=False, ec=color, lw=lw))
        if scores is not None:
            ax.text(b[0], b[1] - 2, f"{scores[k]:.1f}", color=color, fontsize=6)


def grid(ax, patches, cols: int = 16, title: str = "") -> None:
    patches = np.asarray(patches)
    rows = int(np.ceil(len(patches) / cols))
    h, w = patches.shape[1:3]
    canvas = np.full((rows * (h + 2), cols * (w + 2)), 255, np.uint8)
    for k, p in enumerate(patches):
        r, c = divmod(k, cols)
        canvas[r * (h + 2):r * (h + 2) + h, c * (w + 2):c * (w + 2) + w] = p
    show(ax, canvas, title)


def pr_plot(ax, results: dict, gts, iou_threshold: float = 0.3) -> None:
    """Precision-recall curves of every detector in ``results`` (name -> {"detections": [...]}) on one plot."""
    for name, r in results.items():
        if "detections" not in r:
            continue
        _, tp, n = match_detections(r["detections"], gts, iou_threshold)
        rec, prec = pr_curve(tp, n)
        ap = r["metrics"]["ap30" if iou_threshold == 0.3 else "ap50"]
        ours = name in DETECTORS and not DETECTORS[name].baseline  # facelab's own: solid lines
        ax.plot(rec, prec, lw=1.5 if ours else 1.0, ls="-" if ours else "--", label=f"{name} (AP {ap:.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.set_title(f"precision-recall, IoU {iou_threshold}", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)


def misses_and_false_alarms(dets, gts, min_score: float, iou_threshold: float = 0.3):
    """Ground-truth faces nobody above ``min_score`` matched, and detections above it matching no face:
    lists of (image index, box, score)."""
    misses, fas = [], []
    for i, (d, g) in enumerate(zip(dets, gts)):
        d = np.asarray(d).reshape(-1, 5)
        d = d[d[:, 4] >= min_score]
        g = np.asarray(g).reshape(-1, 4)
        ov = iou_matrix(d[:, :4], g) if len(d) and len(g) else np.zeros((len(d), len(g)))
        for k in range(len(g)):
            if not len(d) or ov[:, k].max() < iou_threshold:
                misses.append((i, g[k], None))
        for k in range(len(d)):
            if not len(g) or ov[k].max() < iou_threshold:
                fas.append((i, d[k, :4], float(d[k, 4])))
    fas.sort(key=lambda t: -t[2])
    return misses, fas


def crop_with_margin(image, box, margin: float = 0.3, size: int = 64):
    import cv2

    g = as_grey(image)
    x, y, w, h = box
    m = margin * max(w, h)
    x0, y0 = int(max(0, x - m)), int(max(0, y - m))
    x1, y1 = int(min(g.shape[1], x + w + m)), int(min(g.shape[0], y + h + m))
    c = g[y0:y1, x0:x1]
    if c.size == 0:
        return np.zeros((size, size), np.uint8)
    return cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA)
