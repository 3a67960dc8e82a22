"""What every facelab feature extractor shares: inputs are face images, the crop policy is a parameter.

``X`` for ``fit`` / ``transform`` is a uint8 array (N, H, W) of grey faces, a
list of such images (any sizes, grey or BGR), or a list of file paths. The
``crop`` parameter names the policy (:mod:`facelab.features.crop`): ``"lfw"``
for LFW-style 250x250 photos, ``"tight"`` for tight crops (ORL, FER2013,
detector boxes), ``"none"`` when ``X`` already holds crops of the model's size.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..preprocess import read_image
from .crop import CropPolicy, policy_for


def as_crops(X, crop: str | CropPolicy | None, size: int = 64) -> np.ndarray:
    """Turn ``X`` into uint8 (N, size, size) crops under the named policy."""
    if isinstance(X, (str, Path)):
        X = [X]
    items = list(X) if not isinstance(X, np.ndarray) else X
    if len(items) and isinstance(items[0], (str, Path)):
        items = [read_image(p) for p in items]
    if crop == "none":
        arr = np.asarray(items)
        if arr.ndim == 4 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim != 3 or arr.shape[1:] != (size, size):
            raise ValueError(f"crop='none' expects images of shape (N, {size}, {size}), got {arr.shape}")
        return arr.astype(np.uint8) if arr.dtype != np.uint8 else arr
    base = policy_for(crop)
    policy = base if base.size == size else CropPolicy(base.fraction, base.y_offset, size)
    if isinstance(items, np.ndarray) and items.ndim == 2:
        raise ValueError("X must be a sequence of images (N, H, W), not one 2-D image")
    return policy.apply_many(items)


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
