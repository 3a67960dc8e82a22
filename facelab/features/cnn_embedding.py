"""CNN face embedding: a compact conv net trained to tell identities apart; its L2-normalised penultimate layer is the feature.

The network, its custom layers and the margin heads (CosFace, ArcFace) are in :mod:`facelab.models.embedding_net`,
below this stage, because the end-to-end CNN identifier starts from the same body. This module trains it and wraps
it as a scikit-learn transformer. Only the embedding network is saved (``.keras``); the head is thrown away.

The shipped ``features_cnn.keras`` joins two such nets (widths 16 and 20, trained on the same
identities) with :func:`combine_embeddings`: 256-d, ~1.34 M parameters; see its model card.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..models.embedding_net import (SHIPPED, augmentation, build_embedding_net, build_training_model,  # noqa: F401
                                    combine_embeddings, load_embedding_model, pre_embedding_model)
from ..models.runtime import predict_batches
from .base import FaceFeatures


def embed(model, crops: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """uint8 (N, S, S) crops → float32 (N, D) unit vectors."""
    if len(crops) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    # float32: the verification threshold and the SVMs were fitted on float32 embeddings
    return predict_batches(model, np.asarray(crops, np.float32)[..., None], batch_size, precision="float32")


class CNNEmbedding(FaceFeatures):
    """scikit-learn transformer around the CNN embedding.

    ``weights``: a ``.keras`` file or ``"shipped"`` → ``fit`` only loads it (a fixed,
    pre-trained extractor, the usual way to put it in a ``Pipeline``). ``weights=None``
    → ``fit(X, y)`` trains a new network on the identities in ``y``.
    """

    def __init__(self, weights="shipped", crop="lfw", embed_dim=128, width=16, loss="softmax", scale=24.0,
                 margin=0.25, epochs=20, batch_size=64, learning_rate=2e-3, augment=True, seed=42, verbose=0,
                 mirror=False):
        self.weights = weights
        self.mirror = mirror
        self.crop = crop
        self.embed_dim = embed_dim
        self.width = width
        self.loss = loss
        self.scale = scale
        self.margin = margin
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.augment = augment
        self.seed = seed
        self.verbose = verbose

    def fit(self, X, y=None):
        if self.weights is not None:
            self.model_ = load_embedding_model(None if self.weights == "shipped" else self.weights)
            self.history_ = None
        else:
            if y is None:
                raise ValueError("training a CNNEmbedding needs identity labels y (or pass weights=...)")
            crops = self._crops(X)
            self.model_, self.history_ = train_embedding(crops, np.asarray(y), embed_dim=self.embed_dim,
                                                         width=self.width, loss=self.loss, scale=self.scale,
                                                         margin=self.margin, epochs=self.epochs,
                                                         batch_size=self.batch_size, learning_rate=self.learning_rate,
                                                         augment=self.augment, seed=self.seed, verbose=self.verbose)
        self.n_features_out_ = int(self.model_.output_shape[-1])
        return self

    def _features(self, crops):
        if not self.mirror:
            return embed(self.model_, crops)
        # mirror=True: the embedding of the face and of its mirror image, summed and re-normalised (a face's
        # identity does not change with left-right flipping; averaging removes some pose noise)
        both = embed(self.model_, crops) + embed(self.model_, np.ascontiguousarray(np.asarray(crops)[:, :, ::-1]))
        return both / np.maximum(np.linalg.norm(both, axis=1, keepdims=True), 1e-12)

    def save(self, path) -> Path:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        path = Path(path)
        self.model_.save(path)
        return path


def train_embedding(crops: np.ndarray, labels: np.ndarray, embed_dim=128, width=16, loss="softmax", scale=24.0,
                    margin=0.25, epochs=20, batch_size=64, learning_rate=2e-3, augment=True, seed=42, verbose=0,
                    callbacks=(), weight_decay=5e-4, label_smoothing=0.1, callback_factory=None, erasing=0.0,
                    dropout=0.2):
    """Train a new embedding network on (crops, identity labels); returns (embedding model, history dict)."""
    import keras

    from ..config import set_seeds

    set_seeds(seed)
    labels = np.unique(labels, return_inverse=True)[1].astype("int32")
    n_classes = int(labels.max()) + 1
    backbone = build_embedding_net(crops.shape[1], embed_dim, width, dropout)
    model = build_training_model(backbone, n_classes, loss, scale, margin, augment, seed, erasing)
    steps = max(1, math.ceil(len(crops) / batch_size)) * max(1, epochs)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps, alpha=0.02)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing),
                  metrics=[keras.metrics.CategoricalAccuracy(name="acc")])
    x = {"face": np.asarray(crops, np.float32)[..., None], "label": labels[:, None]}
    y = keras.utils.to_categorical(labels, n_classes)
    callbacks = list(callbacks) + (list(callback_factory(backbone)) if callback_factory else [])
    hist = model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose, callbacks=callbacks)
    return backbone, hist.history
