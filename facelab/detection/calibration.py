"""Box maps: each detector's boxes moved to facelab's one face box convention.

Every detector draws its own box around a face (Haar a tight square on the eyes and mouth, SSD a tall one reaching
the forehead, MTCNN one down to the chin), so at IoU 0.5 a found face can count as a miss only because of its
framing. A box map ``(dx, dy, sw, sh)`` takes a detector's box (x, y, w, h) to
``(x + dx w, y + dy h, sw w, sh h)``; it is the median over the faces the detector finds on the *validation* split
(:func:`facelab.detection.validation.validation_set`) of where the convention's box lies relative to its own, so the
test set (CMU+MIT A+B) never shapes it. The maps ship in ``facelab/weights/detection_box_calibration.json`` and
:func:`facelab.detection.registry.get_detector` gives each registry detector its own, so the CLI, the pipeline and
the benchmark see the same boxes. ``facelab train box-calibration`` refits them.

facelab's CNN has no entry: its window-to-box calibration is part of its own config (``detection_cnn.json``,
fitted on the same split by :func:`facelab.detection.train.calibrate_cnn`).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..models.weights import WEIGHTS_DIR

BOX_MAPS_FILE = "detection_box_calibration.json"
IDENTITY = (0.0, 0.0, 1.0, 1.0)


def apply_box_map(boxes, box_map) -> np.ndarray:
    """Boxes (K, 4) x, y, w, h through a map (dx, dy, sw, sh); the identity map changes nothing."""
    b = np.asarray(boxes, float).reshape(-1, 4)
    dx, dy, sw, sh = box_map
    return np.column_stack([b[:, 0] + dx * b[:, 2], b[:, 1] + dy * b[:, 3], sw * b[:, 2], sh * b[:, 3]])


def not_cut_by_border(gt: np.ndarray, size, margin: float = 1.0) -> np.ndarray:
    """Ground-truth boxes not cut by the image border (a clipped box says nothing about a detector's framing)."""
    H, W = size
    return ((gt[:, 0] > margin) & (gt[:, 1] > margin) & (gt[:, 0] + gt[:, 2] < W - margin)
            & (gt[:, 1] + gt[:, 3] < H - margin))


def fit_box_map(detections, gts, sizes, rounds: int = 3, iou_min: float = 0.3) -> tuple[list[float], int]:
    """(map, faces it rests on): the median offset and size of each ground-truth face relative to the
    best-scoring detection overlapping it (IoU >= ``iou_min`` after the current map), refitted ``rounds`` times
    so that the matching itself uses the corrected boxes. ``detections``: per image an (N, 5) array x, y, w, h,
    score; ``gts``: per image (K, 4); ``sizes``: per image (H, W). Faces cut by the border are left out."""
    from .nms import iou_matrix

    box_map = list(IDENTITY)
    n = 0
    for _ in range(rounds):
        rows = []
        for det, gt, size in zip(detections, gts, sizes):
            det, gt = np.asarray(det, float).reshape(-1, 5), np.asarray(gt, float).reshape(-1, 4)
            if not len(det) or not len(gt):
                continue
            ov = iou_matrix(apply_box_map(det[:, :4], box_map), gt)
            for k in np.nonzero(not_cut_by_border(gt, size))[0]:
                cand = np.nonzero(ov[:, k] >= iou_min)[0]
                if not len(cand):
                    continue
                x, y, w, h = det[cand[np.argmax(det[cand, 4])], :4]
                g = gt[k]
                rows.append([(g[0] - x) / w, (g[1] - y) / h, g[2] / w, g[3] / h])
        if not rows:
            return list(IDENTITY), 0
        box_map, n = np.median(np.array(rows), 0).round(4).tolist(), len(rows)
    return box_map, n


def box_maps_path(weights_dir=None) -> Path:
    return (Path(weights_dir) if weights_dir else WEIGHTS_DIR) / BOX_MAPS_FILE


def box_map_entries(weights_dir=None) -> dict[str, dict]:
    """{detector name: {"map", "faces", ...}} as the box-map file beside the weights holds them. A missing file means
    no maps (a checkout before they were fitted); an unreadable one is an error naming it."""
    path = box_maps_path(weights_dir)
    if not path.exists():
        return {}
    from ..models.weights import load_json

    return load_json(path, "facelab train box-calibration --replace-shipped").get("maps", {})


@lru_cache(maxsize=4)
def box_maps(weights_dir=None) -> dict[str, list[float]]:
    """{detector name: map} shipped beside the weights; a detector without an entry keeps its own boxes."""
    return {name: [float(v) for v in entry["map"]] for name, entry in box_map_entries(weights_dir).items()}


def write_box_maps(fitted: dict, path, note: str = "") -> Path:
    """Write ``{name: {"map", "faces", ...}}`` as the box-map file (what :func:`box_maps` reads)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"convention": "square centred halfway between eye centre and mouth centre, side 2.3 x eye-to-mouth "
                         "(facelab.data.face_box_from_points)",
           "map": "(dx, dy, sw, sh): box (x, y, w, h) -> (x + dx w, y + dy h, sw w, sh h)",
           "fitted_on": note or "facelab.detection.validation.validation_set() (never the CMU+MIT test set)",
           "retrain": "facelab train box-calibration --replace-shipped",
           "maps": fitted}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(path)
    box_maps.cache_clear()
    return path
