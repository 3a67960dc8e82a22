"""Stage 2, features: turn a face into a vector.

Every extractor is a scikit-learn transformer (``fit`` / ``transform``, parameters
in ``__init__`` only, fitted state ending in ``_``), so it drops into a
``Pipeline`` in front of an SVM and into ``GridSearchCV``:

========== ============================================ ===================================
name       class                                        what it is
========== ============================================ ===================================
cnn        :class:`~.cnn_embedding.CNNEmbedding`       identity-trained CNNs (shipped: an ensemble of 2), unit-length 256-d
autoencoder :class:`~.autoencoder.AutoencoderFeatures` convolutional autoencoder's 128-d code
pca        :class:`~.pca.PCAFeatures`                  eigenfaces coefficients (baseline)
lbp        :class:`~.lbp.LBPFeatures`                  uniform LBP histograms (baseline)
========== ============================================ ===================================

Inputs are face images; the ``crop`` parameter names the crop policy
(:mod:`facelab.features.crop`): ``"lfw"`` for 250x250 LFW-style photos,
``"tight"`` for tight crops, ``"none"`` for ready 64x64 crops. Keras is imported
only when a deep extractor is fitted.
"""
from __future__ import annotations

from .autoencoder import AutoencoderFeatures
from .cnn_embedding import CNNEmbedding
from .crop import LFW, TIGHT, CropPolicy, policy_for
from .lbp import LBPFeatures
from .pca import PCAFeatures

EXTRACTORS = {"cnn": CNNEmbedding, "autoencoder": AutoencoderFeatures, "pca": PCAFeatures, "lbp": LBPFeatures}

#: how each extractor's vectors are compared in verification
METRIC = {"cnn": "cosine", "autoencoder": "cosine", "pca": "cosine", "lbp": "chi2"}


def get_extractor(name: str, **params):
    """A new (unfitted) extractor by registry name."""
    if name not in EXTRACTORS:
        raise ValueError(f"unknown feature extractor {name!r}; known: {', '.join(EXTRACTORS)}")
    return EXTRACTORS[name](**params)


__all__ = ["EXTRACTORS", "METRIC", "AutoencoderFeatures", "CNNEmbedding", "CropPolicy", "LBPFeatures", "LFW",
           "PCAFeatures", "TIGHT", "get_extractor", "policy_for"]
