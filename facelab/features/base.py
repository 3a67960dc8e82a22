"""What every facelab feature extractor shares: inputs are face images, the crop policy is a parameter.

``X`` for ``fit`` / ``transform`` is a uint8 array (N, H, W) of grey faces, a
list of such images (any sizes, grey or BGR), or a list of file paths. The
``crop`` parameter names the policy (:mod:`facelab.models.inputs`): ``"lfw"``
for LFW-style 250x250 photos, ``"tight"`` for tight crops (ORL, FER2013,
detector boxes), ``"none"`` when ``X`` already holds crops of the model's size.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..models.inputs import as_crops


class FaceFeatures(BaseEstimator, TransformerMixin):
    """Base class: subclasses define ``fit`` and ``_features(crops)``; ``transform`` checks fitting and crops."""

    input_size = 64

    def _crops(self, X) -> np.ndarray:
        return as_crops(X, getattr(self, "crop", "lfw"), self.input_size)

    def transform(self, X):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return self._features(self._crops(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
