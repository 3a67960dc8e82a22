"""Stage 1, detection: find every face in a photo.

One interface (:class:`Detector`: ``detect(image) -> list[Detection]``), one registry
(:func:`get_detector` by name: ``cnn``, ``rcnn``, ``haar``, ``haar-alt2``, ``ssd``, ``mtcnn``,
``deepface-opencv``, ``deepface-mtcnn``), metrics over a whole image set (:mod:`.metrics`).
"""
from .base import Detection, Detector
from .nms import iou, iou_matrix, nms
from .registry import DEFAULT, REGISTRY, available, box_finder, get_detector

__all__ = ["DEFAULT", "Detection", "Detector", "REGISTRY", "available", "box_finder", "get_detector", "iou", "iou_matrix", "nms"]
