"""From a detector's box to the crop a model was trained on.

Detectors frame faces differently (facelab's CNN box is taller than Haar's and sits lower; on LFW photos the LFW
crop the embeddings were trained on is 0.79 x the CNN box's width but 0.93 x Haar's), so growing every box by one
margin cuts a crop the model never saw: on whole LFW photos that halved the embedding's agreement with itself. A
:class:`Framing` maps one detector's box to one crop policy's square (centre shift in box widths and heights, side
in box widths). It is fitted (:func:`fit_framing`) on photos where the policy's crop is known: LFW photos of the
embedding's *training* identities, so no test pair is seen. ``facelab train framing`` refits the shipped table
(``facelab/weights/pipeline_framing.json``)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

import numpy as np

from ..config import WEIGHTS_DIR
from ..models.inputs import policy_for
from ..preprocess import read_image

FRAMING_FILE = "pipeline_framing.json"


@dataclass(frozen=True)
class Framing:
    """crop centre = box centre + (``dx`` x box width, ``dy`` x box height); crop side = ``scale`` x box width."""

    dx: float
    dy: float
    scale: float

    def crop_box(self, box) -> tuple[float, float, float, float]:
        x, y, w, h = (float(v) for v in box)
        side = self.scale * w
        cx, cy = x + w / 2 + self.dx * w, y + h / 2 + self.dy * h
        return (cx - side / 2, cy - side / 2, side, side)


def _central_detection(detections, width: int, height: int):
    """The detection nearest the photo's centre (an LFW photo holds its person in the middle)."""
    return min(detections, key=lambda d: (d.box[0] + d.box[2] / 2 - width / 2) ** 2
                                         + (d.box[1] + d.box[3] / 2 - height / 2) ** 2)


def fit_framing(detector, images, policy: str = "lfw", progress: bool = False) -> tuple[Framing, dict]:
    """The :class:`Framing` that maps ``detector``'s boxes on ``images`` (photos framed like the ``policy`` crop:
    one person in the middle) to the policy's square: the medians of the per-photo relations (robust to the odd
    wrong detection). Returns it and a summary (photos used, photos without a face, spread)."""
    crop = policy_for(policy)
    rel, missed = [], 0
    items = images
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(images, desc=f"framing {getattr(detector, 'name', 'detector')}", unit="photo")
    for image in items:
        h, w = image.shape[:2]
        dets = detector.detect(image)
        if not dets:
            missed += 1
            continue
        x, y, bw, bh = _central_detection(dets, w, h).box
        tx, ty, ts, _ = crop.box(h, w)
        rel.append(((tx + ts / 2 - (x + bw / 2)) / bw, (ty + ts / 2 - (y + bh / 2)) / bh, ts / bw))
    if not rel:
        raise ValueError("no face detected on any framing photo")
    rel = np.asarray(rel)
    med = np.median(rel, axis=0)
    spread = np.percentile(rel, 75, axis=0) - np.percentile(rel, 25, axis=0)
    return Framing(*(round(float(v), 4) for v in med)), {
        "photos": int(len(rel)), "without_face": missed, "iqr": [round(float(v), 4) for v in spread]}


def refine_box(image: np.ndarray, box, refiner, work: int = 128):
    """The ``refiner``'s box of the face another detector found at ``box``, or None: the refiner runs on a window
    twice the box's size around it, shrunk so the face is about ``work``/2 px (a few milliseconds), and its
    detection overlapping ``box`` most (IoU > 0.3) is mapped back to the image.

    Why: facelab's CNN finds faces well but places them on its 4-px stride at the pyramid level that matched, up
    to 7 % of a large face off; the Haar cascade (OpenCV's, which LFW's own crops were made with) places a face
    it is shown closely. Refining the CNN's box by it moved View 1 pairsDevTrain accuracy (best threshold) through
    the pipeline from 0.879 to 0.916, for about 3 ms a face."""
    import cv2

    from ..detection.nms import iou

    x, y, w, h = (float(v) for v in box)
    side, cx, cy = max(w, h), x + w / 2, y + h / 2
    x0, y0 = int(max(0, cx - side)), int(max(0, cy - side))
    x1, y1 = int(min(image.shape[1], cx + side)), int(min(image.shape[0], cy + side))
    window = image[y0:y1, x0:x1]
    if window.size == 0:
        return None
    f = min(1.0, work / (2 * side))
    if f < 1.0:
        window = cv2.resize(window, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    best, best_iou = None, 0.3
    for d in refiner.detect(window):
        bx, by, bw, bh = d.box
        cand = np.array([bx / f + x0, by / f + y0, bw / f, bh / f])
        overlap = float(iou(cand, np.array([x, y, w, h])))
        if overlap > best_iou:
            best, best_iou = tuple(float(v) for v in cand), overlap
    return best


def load_framings(path=None) -> dict:
    """{detector: {policy: Framing}} from the shipped table (a missing table means no framing is known: every box
    then gets its model's plain margin)."""
    from ..models.weights import load_json

    path = path or WEIGHTS_DIR / FRAMING_FILE
    data = load_json(path, retrain="facelab train framing --replace-shipped")
    return {det: {pol: Framing(**{k: v[k] for k in ("dx", "dy", "scale")}) for pol, v in per.items()}
            for det, per in data.get("framings", {}).items()}


def load_refiners(path=None) -> dict:
    """{detector: the detector that refines its boxes before framing} from the shipped table."""
    from ..models.weights import load_json

    return dict(load_json(path or WEIGHTS_DIR / FRAMING_FILE).get("refine_with", {}))


def framing_table(fits: dict, about: str, refine_with: dict | None = None) -> dict:
    """The JSON written to :data:`FRAMING_FILE`: ``fits`` is {detector: {policy: (Framing, summary)}},
    ``refine_with`` {detector: refiner} (chosen on validation pairs)."""
    return {"about": about, "fitted": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "refine_with": refine_with or {},
            "framings": {det: {pol: {**asdict(fr), **summary} for pol, (fr, summary) in per.items()}
                         for det, per in fits.items()}}


def write_framing_table(table: dict, out_dir) -> "Path":  # noqa: F821
    from pathlib import Path

    from ..evaluation.results import replace_text

    out = Path(out_dir) / FRAMING_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    replace_text(out, json.dumps(table, indent=2) + "\n")
    return out


def framing_photos(n: int = 600, seed: int = 42, root=None) -> list[str]:
    """``n`` LFW photos of the embedding's training identities (never a pairsDevTest person nor a protocol's test
    image): the photos a framing is fitted on, so no test pair is seen. One photo per person first, then more."""
    from ..features.train import training_files

    paths, labels, _ = training_files(root=root)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(paths))
    first = {}
    for i in order:
        first.setdefault(int(labels[i]), i)
    picked = list(first.values())[:n]
    picked += [i for i in order if i not in set(picked)][: max(0, n - len(picked))]
    return [paths[i] for i in picked]


def fit_framings(detectors, n_photos: int = 600, seed: int = 42, progress: bool = True, root=None,
                 refine_with: dict | None = None) -> dict:
    """The framing table for ``detectors`` (registry names) and the LFW crop policy, fitted on
    :func:`framing_photos`; ``refine_with`` {detector: refiner} is recorded beside it (the refiners must be among
    ``detectors``, their framing is the one applied to refined boxes)."""
    from ..detection import get_detector

    photos = [read_image(p, "bgr") for p in framing_photos(n_photos, seed, root)]
    fits = {}
    for name in detectors:
        framing, summary = fit_framing(get_detector(name), photos, "lfw", progress=progress)
        fits[name] = {"lfw": (framing, {**summary, "fitted_on": f"{len(photos)} LFW photos of the CNN embedding's "
                                                             f"training identities (seed {seed})"})}
    return framing_table(fits, "detector box -> the square crop of a model's crop policy (facelab.pipeline.framing)",
                         refine_with)
