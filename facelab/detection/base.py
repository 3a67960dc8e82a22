"""The one detector interface every facelab detector and baseline answers."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..preprocess import clip_boxes, read_image, to_mode


@dataclass
class Detection:
    """One face: ``box`` (x, y, w, h) in float pixels of the input image, a ``score`` (higher = more face-like)."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        d = {"box": [round(float(v), 2) for v in self.box], "score": round(float(self.score), 5)}
        if self.landmarks is not None:
            d["landmarks"] = np.round(np.asarray(self.landmarks, float), 2).tolist()
        return d


class JsonConfig:
    """Mixin for a dataclass of inference settings stored as JSON beside the weights."""

    @classmethod
    def load(cls, path, retrain: str | None = None):
        """The settings in ``path``; a missing or unreadable file is an error naming it, never the defaults."""
        from ..models.weights import load_json

        data = load_json(Path(path), retrain)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def save(self, path) -> None:
        import json
        from dataclasses import asdict

        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")


#: the largest image a detector works on, in pixels (``$FACELAB_DETECT_MAX_PIXELS``): larger photos are shrunk to
#: it first and the boxes scaled back. Why: the CNN scores its whole pyramid in one canvas, and detection memory grew
#: with the photo (3.7 GB resident for a 12 MP phone photo, a segfault at 48 MP under a 9 GB cap). At 2.5 MP,
#: `facelab detect` on a 48 MP photo peaks at 1.4 GB resident (docs/benchmarks/detect_memory.py; 2.0 GB at 4 MP),
#: the smallest face found is about 53 px in a 12 MP photo and 105 px in a 48 MP one, and every photo of the
#: benchmark sets (all under 1 MP) is untouched.
DETECT_MAX_PIXELS = int(os.environ.get("FACELAB_DETECT_MAX_PIXELS", 2_500_000))


class Detector:
    """``detect(image) -> list[Detection]`` on a uint8 grey (H, W) or BGR (H, W, 3) array.

    ``min_score`` is the operating threshold: detections scoring below it are dropped.
    Lower it (e.g. to ``-inf``) to get every candidate for precision-recall curves.
    Subclasses implement ``_detect``; ``detect`` bounds the working size (:data:`DETECT_MAX_PIXELS`), so memory
    stays bounded whatever the photo's size, moves each box to facelab's face box convention by the detector's
    ``box_map`` (:mod:`facelab.detection.calibration`; the registry sets it) and clips it to the image.
    """

    name = "detector"
    #: default threshold of a detector (facelab's models: chosen on the detection validation split)
    default_min_score = 0.0
    #: (dx, dy, sw, sh) to the face box convention, or None to keep the detector's own boxes
    box_map: tuple | None = None

    def __init__(self, min_score: float | None = None):
        self.min_score = self.default_min_score if min_score is None else float(min_score)

    def detect(self, image: np.ndarray) -> list[Detection]:
        image = np.asarray(image)
        h, w = image.shape[:2]
        if h * w <= DETECT_MAX_PIXELS:
            return self._framed(self._detect(image), w, h)
        import cv2

        f = (DETECT_MAX_PIXELS / (h * w)) ** 0.5
        small = cv2.resize(image, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
        fx, fy = w / small.shape[1], h / small.shape[0]
        return self._framed([Detection((d.box[0] * fx, d.box[1] * fy, d.box[2] * fx, d.box[3] * fy), d.score,
                                       None if d.landmarks is None else np.asarray(d.landmarks, float) * (fx, fy))
                             for d in self._detect(small)], w, h)

    def _framed(self, dets: list[Detection], width: int, height: int) -> list[Detection]:
        """Boxes through the box map, then cut to the image; a box left with less than 2 px is dropped."""
        if not dets:
            return []
        from .calibration import apply_box_map

        boxes = np.array([d.box for d in dets], float)
        if self.box_map is not None:
            boxes = apply_box_map(boxes, self.box_map)
        kept = clip_boxes(np.column_stack([boxes, np.arange(len(dets))]), width, height, min_side=2)
        return [Detection(tuple(float(v) for v in row[:4]), dets[int(row[4])].score, dets[int(row[4])].landmarks)
                for row in kept]

    def _detect(self, image: np.ndarray) -> list[Detection]:  # pragma: no cover - interface
        raise NotImplementedError

    def detect_path(self, path) -> list[Detection]:
        """Read any image file (GIF included) and detect; bad files raise :class:`BadInputError`."""
        return self.detect(read_image(Path(path), mode="bgr"))

    def _keep(self, dets: list[Detection]) -> list[Detection]:
        return sorted((d for d in dets if d.score >= self.min_score), key=lambda d: -d.score)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(min_score={self.min_score})"


def _checked(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"expected a grey (H, W) or BGR (H, W, 3) image, got shape {image.shape}")
    return image


def as_grey(image: np.ndarray) -> np.ndarray:
    """A detector's input as grey, checked (the conversion is :func:`facelab.preprocess.to_mode`'s)."""
    return to_mode(_checked(image), "grey")


def as_bgr(image: np.ndarray) -> np.ndarray:
    return to_mode(_checked(image), "bgr")
