"""The embedder registry: every feature extractor by name. ``EMBEDDERS.create(name)`` is ready to use (shipped
weights loaded, no training); ``ready=False`` gives the unfitted scikit-learn estimator (with ``**params``) for a
``Pipeline`` that fits it on a split, as the identification protocols do.

An entry's ``inputs`` is the crop its model was trained on (``margin``: how much a detector's box is grown before
the 64x64 crop, to match the LFW crop's framing), and ``extra["metric"]`` how two of its vectors are compared in
verification."""
from __future__ import annotations

from ..models.registry import InputSpec, ModelEntry, Registry

#: LFW-style framing: 64x64 grey; a detector's box + 10 % on each side matches the LFW crop's framing
LFW_FRAMING = InputSpec(crop="lfw", size=64, colour="grey", margin=0.1)


def _cnn(crop="lfw", weights=None, ready=True, **params):
    from .cnn_embedding import CNNEmbedding

    est = CNNEmbedding(weights=weights or "shipped", crop=crop, **params)
    return est.fit(None) if ready else est


def _autoencoder(crop="lfw", weights=None, ready=True, **params):
    from .autoencoder import AutoencoderFeatures

    est = AutoencoderFeatures(weights=weights or "shipped", crop=crop, **params)
    return est.fit(None) if ready else est


def _pca(crop="lfw", weights=None, ready=True, **params):
    from .pca import PCAFeatures

    return PCAFeatures.load(weights, crop=crop) if ready else PCAFeatures(crop=crop, **params)


def _lbp(crop="lfw", weights=None, ready=True, **params):
    from .lbp import LBPFeatures

    est = LBPFeatures(crop=crop, **params)
    return est.fit(None) if ready else est


def _dlib_resnet(crop="lfw", weights=None, ready=True, **params):
    from .dlib_resnet import DlibResNetFeatures

    est = DlibResNetFeatures(crop=crop, **params)
    return est.fit(None) if ready else est


EMBEDDERS = Registry("embedder", [
    ModelEntry("cnn", _cnn, "identity-trained CNNs (shipped: an ensemble of 2), unit-length 256-d",
               weights=("features_cnn.keras",), card="features_cnn.md", inputs=LFW_FRAMING,
               extra={"metric": "cosine", "retrain": "facelab train features --model cnn"}),
    ModelEntry("autoencoder", _autoencoder, "convolutional autoencoder's 128-d code",
               weights=("features_autoencoder.keras",), card="features_autoencoder.md", inputs=LFW_FRAMING,
               extra={"metric": "cosine", "retrain": "facelab train features --model autoencoder"}),
    ModelEntry("pca", _pca, "eigenfaces coefficients (150 whitened components)", baseline=True,
               weights=("features_pca.npz",), card="features_pca.md", inputs=LFW_FRAMING, extra={"metric": "cosine"}),
    ModelEntry("lbp", _lbp, "uniform LBP histograms on an 8x8 grid", baseline=True, inputs=LFW_FRAMING,
               extra={"metric": "chi2"}),
    # a peer library: the face_recognition package's embedding (dlib-bin + face_recognition_models' weights)
    ModelEntry("dlib-resnet", _dlib_resnet, "dlib's ResNet descriptor (face_recognition), 128-d, trained on about "
               "3 M outside faces", baseline=True,
               inputs=InputSpec(crop="lfw", size=150, colour="grey", margin=0.1),
               extra={"metric": "cosine", "peer": "face_recognition (dlib)", "slow": True}),
], default="cnn")


def metric_of(name: str) -> str:
    """How two vectors of embedder ``name`` are compared: ``"cosine"`` or ``"chi2"``."""
    return EMBEDDERS[name].extra["metric"]
