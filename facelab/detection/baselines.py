"""Baselines behind facelab's Detector interface: OpenCV Haar cascades, OpenCV DNN SSD, MTCNN, deepface."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from ..errors import FacelabError
from .base import Detection, Detector, as_bgr, as_grey


class HaarDetector(Detector):
    """Viola-Jones cascade. Its score is the cascade's level weight from ``detectMultiScale3(...,
    outputRejectLevels=True)`` (the summed stage output of the last stage reached), so precision-recall
    curves can be drawn; ``min_neighbors`` still groups the raw windows as usual."""

    default_min_score = -1e9  # OpenCV's own operating point: every grouped detection

    def __init__(self, cascade: str = "haarcascade_frontalface_default.xml", scale_factor: float = 1.1,
                 min_neighbors: int = 3, min_size: int = 20, min_score: float | None = None):
        super().__init__(min_score)
        self.cascade_file = cascade
        self.name = "haar-alt2" if "alt2" in cascade else "haar"
        self.scale_factor, self.min_neighbors, self.min_size = scale_factor, min_neighbors, min_size
        path = Path(cv2.data.haarcascades) / cascade
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise FacelabError(f"OpenCV cascade {path} could not be loaded")

    def _detect(self, image):
        rects, _, weights = self._cascade.detectMultiScale3(
            as_grey(image), self.scale_factor, self.min_neighbors, minSize=(self.min_size, self.min_size),
            outputRejectLevels=True)
        w = np.asarray(weights, float).reshape(-1)
        return self._keep([Detection(tuple(map(float, r)), float(s)) for r, s in zip(rects, w)])


def models_dir() -> Path:
    """Baseline model files: $FACELAB_MODELS, else <data home>/../models."""
    env = os.environ.get("FACELAB_MODELS")
    if env:
        return Path(env).expanduser().resolve()
    from ..config import data_home

    return (data_home().parent / "models").resolve()


class SSDDetector(Detector):
    """OpenCV DNN res10 SSD (300x300, 8-bit TensorFlow export), score = its face confidence."""

    name = "ssd"
    default_min_score = 0.5

    def __init__(self, model_dir=None, min_score: float | None = None, floor: float = 0.02):
        super().__init__(min_score)
        d = Path(model_dir) if model_dir else models_dir() / "opencv_face_detector_tf"
        pb, pbtxt = d / "opencv_face_detector_uint8.pb", d / "opencv_face_detector.pbtxt"
        for f in (pb, pbtxt):
            if not f.exists():
                raise FacelabError(f"OpenCV SSD model file missing: {f}. Put the OpenCV face detector "
                                   f"(opencv_face_detector_uint8.pb + .pbtxt from OpenCV's samples/dnn/face_detector) "
                                   f"in $FACELAB_MODELS/opencv_face_detector_tf/ (FACELAB_MODELS defaults to "
                                   f"<data home>/../models)")
        self._net = cv2.dnn.readNetFromTensorflow(str(pb), str(pbtxt))
        self.floor = floor

    def _detect(self, image):
        bgr = as_bgr(image)
        H, W = bgr.shape[:2]
        blob = cv2.dnn.blobFromImage(bgr, 1.0, (300, 300), (104.0, 177.0, 123.0), swapRB=False, crop=False)
        self._net.setInput(blob)
        out = self._net.forward().reshape(-1, 7)
        dets = []
        for _, _, conf, x0, y0, x1, y1 in out:
            if conf < min(self.floor, self.min_score):
                continue
            x0, x1 = np.clip([x0 * W, x1 * W], 0, W)
            y0, y1 = np.clip([y0 * H, y1 * H], 0, H)
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            dets.append(Detection((float(x0), float(y0), float(x1 - x0), float(y1 - y0)), float(conf)))
        return self._keep(dets)


class MTCNNDetector(Detector):
    """MTCNN from the pip package ``mtcnn`` (its P/R/O-Net weights ship in the wheel); score = O-Net probability.
    Boxes are tight around the inner face (brows to chin), which matters for IoU 0.5."""

    name = "mtcnn"
    default_min_score = 0.8

    def __init__(self, min_score: float | None = None, min_face_size: int = 20, floor: float = 0.3):
        super().__init__(min_score)
        from mtcnn import MTCNN

        self._m = MTCNN()
        self.min_face_size, self.floor = min_face_size, floor

    def _detect(self, image):
        rgb = cv2.cvtColor(as_bgr(image), cv2.COLOR_BGR2RGB)
        out = self._m.detect_faces(rgb, min_face_size=self.min_face_size,
                                   threshold_onet=max(min(self.min_score, 0.8), self.floor))
        dets = []
        for f in out:
            x, y, w, h = f["box"]
            lm = f.get("keypoints")
            lm = np.array([lm[k] for k in ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")], float) \
                if lm else None
            dets.append(Detection((float(x), float(y), float(w), float(h)), float(f["confidence"]), lm))
        return self._keep(dets)


class DeepFaceDetector(Detector):
    """``deepface.DeepFace.extract_faces`` with a backend that needs no downloaded weights (opencv, mtcnn)."""

    default_min_score = 0.0

    def __init__(self, backend: str = "opencv", min_score: float | None = None):
        super().__init__(min_score)
        if backend not in ("opencv", "mtcnn"):
            raise FacelabError(f"deepface backend {backend!r} would download weights; facelab uses opencv or mtcnn")
        # deepface creates $DEEPFACE_HOME/.deepface/weights; keep that out of the user's home unless they chose it
        os.environ.setdefault("DEEPFACE_HOME", str(Path(tempfile.gettempdir()) / "facelab_deepface"))
        Path(os.environ["DEEPFACE_HOME"]).mkdir(parents=True, exist_ok=True)
        from deepface import DeepFace

        self._df = DeepFace
        self.backend = backend
        self.name = f"deepface-{backend}"

    def _detect(self, image):
        bgr = as_bgr(image)
        H, W = bgr.shape[:2]
        faces = self._df.extract_faces(bgr, detector_backend=self.backend, enforce_detection=False, align=False)
        dets = []
        for f in faces:
            a = f["facial_area"]
            x, y, w, h = (float(a[k]) for k in ("x", "y", "w", "h"))
            conf = float(f.get("confidence") or 0.0)
            if w >= W - 1 and h >= H - 1 and conf == 0.0:  # deepface's "no face": the whole image
                continue
            dets.append(Detection((x, y, w, h), conf))
        return self._keep(dets)
