"""Eigenfaces (Turk & Pentland 1991): PCA on pixels of the cropped faces, optionally whitened.

The baseline feature: linear, learned without labels, computed in milliseconds.
``components_`` reshaped to the crop size are the eigenfaces the notebook draws.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..models.weights import WEIGHTS_DIR, load_npz
from .base import FaceFeatures

SHIPPED = WEIGHTS_DIR / "features_pca.npz"


class PCAFeatures(FaceFeatures):
    """scikit-learn transformer: cropped face → its first ``n_components`` principal-component coefficients."""

    def __init__(self, n_components=150, whiten=True, crop="lfw", size=64, random_state=42):
        self.n_components = n_components
        self.whiten = whiten
        self.crop = crop
        self.size = size
        self.random_state = random_state

    @property
    def input_size(self):
        return self.size

    def fit(self, X, y=None):
        from sklearn.decomposition import PCA

        crops = self._crops(X)
        flat = crops.reshape(len(crops), -1).astype(np.float32) / 255.0
        n = max(1, min(self.n_components, flat.shape[0] - 1, flat.shape[1]))  # whitening a full-rank basis blows up noise
        self.pca_ = PCA(n_components=n, whiten=self.whiten, svd_solver="randomized",
                        random_state=self.random_state).fit(flat)
        self.n_features_out_ = int(n)
        return self

    def _features(self, crops):
        return self.pca_.transform(crops.reshape(len(crops), -1).astype(np.float32) / 255.0).astype(np.float32)

    def save(self, path) -> Path:
        """Store the fitted PCA as a small ``.npz`` (arrays only, no pickle)."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        path = Path(path)
        np.savez_compressed(path, components=self.pca_.components_.astype(np.float32), mean=self.pca_.mean_,
                            explained_variance=self.pca_.explained_variance_,
                            explained_variance_ratio=self.pca_.explained_variance_ratio_,
                            params=np.array([self.n_components, int(self.whiten), self.size]), crop=np.array(str(self.crop)))
        return path

    @classmethod
    def load(cls, path=None, crop=None) -> "PCAFeatures":
        """A fitted PCAFeatures from :meth:`save`'s file (default: the shipped ``features_pca.npz``)."""
        from sklearn.decomposition import PCA

        d = load_npz(Path(path) if path else SHIPPED, retrain="facelab bench --stages features (notebook 03 fits it)")
        n, whiten, size = (int(v) for v in d["params"])
        self = cls(n_components=n, whiten=bool(whiten), crop=crop or str(d["crop"]), size=size)
        pca = PCA(n_components=n, whiten=bool(whiten))
        pca.components_ = d["components"].astype(np.float64)
        pca.mean_ = d["mean"]
        pca.explained_variance_ = d["explained_variance"]
        pca.explained_variance_ratio_ = d["explained_variance_ratio"]
        pca.n_components_ = pca.components_.shape[0]
        pca.n_features_in_ = pca.components_.shape[1]
        self.pca_ = pca
        self.n_features_out_ = n
        return self

    @property
    def eigenfaces_(self) -> np.ndarray:
        return self.pca_.components_.reshape(-1, self.size, self.size)

    @property
    def mean_face_(self) -> np.ndarray:
        return self.pca_.mean_.reshape(self.size, self.size)
