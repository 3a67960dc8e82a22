"""Stage 1, detection: find every face in a photo.

One interface (:class:`Detector`: ``detect(image) -> list[Detection]``), one registry (:data:`DETECTORS`, built
by name with :func:`get_detector`), metrics over a whole image set (:mod:`.metrics`).
"""
from .base import Detection, Detector
from .nms import iou, iou_matrix, nms
from .registry import DETECTORS, get_detector

__all__ = ["DETECTORS", "Detection", "Detector", "get_detector", "iou", "iou_matrix", "nms"]
