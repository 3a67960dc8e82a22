"""End-to-end CNN identifier: the embedding network's body with a softmax over the gallery's people.

``init="scratch"`` trains everything from random weights on the gallery images;
``init="embedding"`` starts from the shipped LFW embedding (transfer learning) and
fine-tunes it. Only the gallery's training images are seen either way.
"""
from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..models.inputs import as_crops


class CNNClassifier(ClassifierMixin, BaseEstimator):
    """scikit-learn classifier around a Keras CNN: ``fit(images, labels)``, ``predict``, ``predict_proba``, ``score``."""

    def __init__(self, init="scratch", crop="lfw", width=16, epochs=30, batch_size=32, learning_rate=2e-3,
                 augment=True, dropout=0.3, seed=42, verbose=0):
        self.init = init
        self.crop = crop
        self.width = width
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.augment = augment
        self.dropout = dropout
        self.seed = seed
        self.verbose = verbose

    def _build(self, n_classes: int):
        import keras

        from ..models.embedding_net import (
            augmentation,
            build_embedding_net,
            load_embedding_model,
            pre_embedding_model,
        )

        body = load_embedding_model() if self.init == "embedding" else build_embedding_net(64, 128, self.width)
        face = keras.Input((64, 64, 1), name="face")
        x = augmentation(self.seed)(face) if self.augment else face
        pre = pre_embedding_model(body)(x)
        pre = keras.layers.Dropout(self.dropout)(pre)
        out = keras.layers.Dense(n_classes, activation="softmax", name="identity")(pre)
        return keras.Model(face, out, name="facelab_cnn_classifier")

    def fit(self, X, y):
        import keras

        from ..config import set_seeds

        set_seeds(self.seed)
        crops = as_crops(X, self.crop, 64)
        self.classes_, yi = np.unique(np.asarray(y), return_inverse=True)
        self.model_ = self._build(len(self.classes_))
        steps = max(1, math.ceil(len(crops) / self.batch_size)) * max(1, self.epochs)
        lr = self.learning_rate * (0.3 if self.init == "embedding" else 1.0)
        self.model_.compile(optimizer=keras.optimizers.AdamW(keras.optimizers.schedules.CosineDecay(lr, steps, alpha=0.02),
                                                             weight_decay=5e-4),
                            loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        hist = self.model_.fit(np.asarray(crops, np.float32)[..., None], yi, epochs=self.epochs,
                               batch_size=self.batch_size, shuffle=True, verbose=self.verbose)
        self.history_ = hist.history
        return self

    def predict_proba(self, X) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        from ..models.runtime import predict_batches

        x = np.asarray(as_crops(X, self.crop, 64), np.float32)[..., None]
        return predict_batches(self.model_, x, 256, precision="float32")

    def predict(self, X) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
