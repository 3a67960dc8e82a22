"""Gallery augmentation for identifiers: fit on every gallery photo plus jittered copies of it.

With five photos a person (ORL's classic split), an SVM on embeddings never sees the scale, pose and position
changes that the test photos show; jittered copies (shift, rotation, zoom, mirror) put them into the gallery.
Written here because scikit-learn has no image augmentation and Keras' augmentation layers act inside a network,
not on the images a feature Pipeline receives.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..preprocess import read_image, to_mode


def jitter_images(images, copies: int, max_shift: float = 0.05, max_angle: float = 10.0,
                  scale: tuple[float, float] = (0.88, 1.15), seed: int = 42) -> tuple[list[np.ndarray], np.ndarray]:
    """Each image followed by ``copies`` random similarity-warped (and half of them mirrored) copies.
    Returns the images and, for each, the index of the image it came from."""
    rng = np.random.default_rng(seed)
    out, source = [], []
    for i, im in enumerate(images):
        im = to_mode(read_image(im) if isinstance(im, (str, Path)) else np.asarray(im), "grey")
        h, w = im.shape[:2]
        out.append(im)
        source.append(i)
        for _ in range(copies):
            m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-max_angle, max_angle), rng.uniform(*scale))
            m[:, 2] += rng.uniform(-max_shift, max_shift, 2) * (w, h)
            j = cv2.warpAffine(im, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            out.append(np.ascontiguousarray(j[:, ::-1]) if rng.random() < 0.5 else j)
            source.append(i)
    return out, np.asarray(source)


class JitteredGallery(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """``estimator`` fitted on the gallery plus ``copies`` jittered copies of each photo; predicts as it does."""

    def __init__(self, estimator, copies: int = 9, max_shift: float = 0.05, max_angle: float = 10.0,
                 scale=(0.88, 1.15), seed: int = 42):
        self.estimator = estimator
        self.copies = copies
        self.max_shift = max_shift
        self.max_angle = max_angle
        self.scale = scale
        self.seed = seed

    def fit(self, X, y):
        y = np.asarray(y)
        images, source = jitter_images(list(X), self.copies, self.max_shift, self.max_angle, tuple(self.scale),
                                       self.seed)
        self.estimator_ = clone(self.estimator).fit(images, y[source])
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        check_is_fitted(self)
        return self.estimator_.predict(X)

    def decision_function(self, X):
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # X is face images (or paths), which it jitters
        return tags
