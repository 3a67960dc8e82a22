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

Every extractor by name, ready to use: :data:`EMBEDDERS` (``EMBEDDERS.create("cnn")``). Inputs are face images; the ``crop`` parameter names the crop policy
(:mod:`facelab.models.inputs`): ``"lfw"`` for 250x250 LFW-style photos,
``"tight"`` for tight crops, ``"none"`` for ready 64x64 crops. Keras is imported
only when a deep extractor is fitted.
"""
from __future__ import annotations

from ..models.inputs import LFW, TIGHT, CropPolicy, policy_for
from .autoencoder import AutoencoderFeatures
from .cnn_embedding import CNNEmbedding
from .lbp import LBPFeatures
from .pca import PCAFeatures
from .registry import EMBEDDERS, metric_of

__all__ = ["EMBEDDERS", "AutoencoderFeatures", "CNNEmbedding", "CropPolicy", "LBPFeatures", "LFW", "PCAFeatures",
           "TIGHT", "metric_of", "policy_for"]
