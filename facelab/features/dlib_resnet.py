"""dlib's ResNet face descriptor (the embedding of the ``face_recognition`` library), as a peer baseline.

A 29-layer ResNet trained by Davis King on about 3 million faces of 7,485 people (FaceScrub, VGG-Face and web
photos; dlib 19.3 release notes), giving 128-d descriptors compared by Euclidean distance (0.6 is dlib's
threshold). Here: each crop is aligned by dlib's 5-point shape predictor inside the whole crop (the LFW crop holds
the face), then described; the descriptors are scaled to unit length so that cosine similarity ranks pairs like
dlib's distance does. Weights: the files the PyPI package ``face_recognition_models`` ships; nothing downloads.
"""
from __future__ import annotations

import numpy as np

from ..models.peer_files import face_recognition_models_file, import_peer
from .base import FaceFeatures


class DlibResNetFeatures(FaceFeatures):
    """scikit-learn transformer: face crop → dlib's 128-d ResNet descriptor (unit length). Nothing to fit."""

    input_size = 150  # dlib's aligned face chip is 150x150

    def __init__(self, crop: str = "lfw", jitters: int = 0):
        self.crop = crop
        self.jitters = jitters

    def fit(self, X=None, y=None):
        dlib = import_peer("dlib", "dlib-resnet")
        self.predictor_ = dlib.shape_predictor(str(face_recognition_models_file(
            "shape_predictor_5_face_landmarks.dat", "dlib-resnet")))
        self.net_ = dlib.face_recognition_model_v1(str(face_recognition_models_file(
            "dlib_face_recognition_resnet_model_v1.dat", "dlib-resnet")))
        self.rect_ = dlib.rectangle
        return self

    def _features(self, crops: np.ndarray) -> np.ndarray:
        out = np.zeros((len(crops), 128), np.float32)
        for i, crop in enumerate(crops):
            rgb = np.ascontiguousarray(np.repeat(crop[:, :, None], 3, axis=2))  # dlib's net takes RGB
            h, w = crop.shape[:2]
            shape = self.predictor_(rgb, self.rect_(0, 0, w - 1, h - 1))
            v = np.asarray(self.net_.compute_face_descriptor(rgb, shape, self.jitters), np.float32)
            out[i] = v / max(float(np.linalg.norm(v)), 1e-12)
        return out
