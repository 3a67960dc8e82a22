"""Detector registry: name -> factory, so the CLI, the benchmark and the notebook loop over the same list."""
from __future__ import annotations

from typing import Callable

from ..errors import FacelabError
from .base import Detector

DEFAULT = "cnn"


def _cnn(**kw):
    from .cnn import CNNDetector

    return CNNDetector.load(**kw)


def _rcnn(**kw):
    from .rcnn import RCNNDetector

    return RCNNDetector.load(**kw)


def _haar(**kw):
    from .baselines import HaarDetector

    return HaarDetector("haarcascade_frontalface_default.xml", **kw)


def _haar_alt2(**kw):
    from .baselines import HaarDetector

    return HaarDetector("haarcascade_frontalface_alt2.xml", **kw)


def _ssd(**kw):
    from .baselines import SSDDetector

    return SSDDetector(**kw)


def _mtcnn(**kw):
    from .baselines import MTCNNDetector

    return MTCNNDetector(**kw)


def _deepface(backend):
    def make(**kw):
        from .baselines import DeepFaceDetector

        return DeepFaceDetector(backend, **kw)

    return make


#: name -> (factory, one-line description, is a facelab model)
REGISTRY: dict[str, tuple[Callable[..., Detector], str, bool]] = {
    "cnn": (_cnn, "facelab CNN: fully convolutional 36x36 classifier over an image pyramid, 2-stage cascade, NMS", True),
    "rcnn": (_rcnn, "facelab R-CNN: selective search proposals, warped 36x36, CNN features, linear SVM, box regression", True),
    "haar": (_haar, "OpenCV Haar cascade, frontalface_default", False),
    "haar-alt2": (_haar_alt2, "OpenCV Haar cascade, frontalface_alt2", False),
    "ssd": (_ssd, "OpenCV DNN res10 SSD 300x300 (TF uint8)", False),
    "mtcnn": (_mtcnn, "MTCNN (pip mtcnn)", False),
    "deepface-opencv": (_deepface("opencv"), "deepface extract_faces, opencv backend", False),
    "deepface-mtcnn": (_deepface("mtcnn"), "deepface extract_faces, mtcnn backend", False),
}


def available() -> list[str]:
    return list(REGISTRY)


def get_detector(name: str = DEFAULT, **kw) -> Detector:
    """Build a detector by registry name; ``min_score`` (and other keywords) go to its constructor."""
    if name not in REGISTRY:
        raise FacelabError(f"unknown detector {name!r}; known: {', '.join(REGISTRY)}")
    det = REGISTRY[name][0](**kw)
    det.name = name
    return det


def box_finder(name: str | None = None):
    """(registry name, ``image -> [(x, y, w, h), ...]``) for the stages that crop faces before their own model
    (``facelab embed``, ``facelab expression`` / ``emotion``): one place decides which detector they use."""
    det = get_detector(name or DEFAULT)
    return (name or DEFAULT), (lambda image: [tuple(float(v) for v in d.box) for d in det.detect(image)])
