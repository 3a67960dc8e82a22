"""Convolutional autoencoder: learns to rebuild 64x64 grey faces through a 128-number bottleneck, the feature.

Encoder: 4 stride-2 conv blocks (32-64-96-128 channels, 64 → 4 px) → dense 128
("code"). Decoder: dense → 4x4x128 → 4 transposed-conv blocks → sigmoid 64x64.
Trained with mean squared error on pixels scaled to 0..1, with light
augmentation (mirror, small shift). The feature is the code; unlike the CNN
embedding it was never told who is who.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..models.runtime import predict_batches
from ..models.weights import WEIGHTS_DIR, load_keras
from .base import FaceFeatures

SHIPPED = WEIGHTS_DIR / "features_autoencoder.keras"


def build_autoencoder(size: int = 64, code_dim: int = 128, widths=(32, 64, 96, 128)):
    """A Keras autoencoder (input 0..255 grey, output 0..1) with sub-models reachable by layer name ``code``."""
    import keras

    L = keras.layers
    inp = keras.Input((size, size, 1), name="face")
    x = L.Rescaling(1 / 255.0, name="scale")(inp)
    for i, w in enumerate(widths):
        x = L.Conv2D(w, 3, strides=2, padding="same", name=f"enc{i}")(x)
        x = L.BatchNormalization(name=f"enc{i}_bn")(x)
        x = L.LeakyReLU(0.1, name=f"enc{i}_act")(x)
    s = size // 2 ** len(widths)
    x = L.Flatten(name="flatten")(x)
    code = L.Dense(code_dim, name="code")(x)
    y = L.Dense(s * s * widths[-1], name="dec_dense")(code)
    y = L.LeakyReLU(0.1, name="dec_dense_act")(y)
    y = L.Reshape((s, s, widths[-1]), name="dec_reshape")(y)
    for i, w in enumerate(reversed(widths[:-1])):
        y = L.Conv2DTranspose(w, 3, strides=2, padding="same", name=f"dec{i}")(y)
        y = L.BatchNormalization(name=f"dec{i}_bn")(y)
        y = L.LeakyReLU(0.1, name=f"dec{i}_act")(y)
    out = L.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid", name="reconstruction")(y)
    return keras.Model(inp, out, name="facelab_autoencoder")


def encoder_of(autoencoder):
    import keras

    return keras.Model(autoencoder.input, autoencoder.get_layer("code").output, name="encoder")


def load_autoencoder(path=None):
    return load_keras(Path(path) if path else SHIPPED, retrain="facelab train features --model autoencoder")


def train_autoencoder(crops: np.ndarray, epochs: int = 20, batch_size: int = 64, learning_rate: float = 2e-3,
                      code_dim: int = 128, seed: int = 42, budget_s: float | None = None, log=None, verbose: int = 0):
    """Train on uint8 (N, 64, 64) crops; returns (autoencoder, history dict)."""
    import keras

    from ..config import set_seeds

    set_seeds(seed)
    ae = build_autoencoder(crops.shape[1], code_dim)
    x = np.asarray(crops, np.float32)[..., None]
    aug = keras.Sequential([keras.layers.RandomFlip("horizontal", seed=seed),
                            keras.layers.RandomTranslation(0.04, 0.04, fill_mode="reflect", seed=seed + 1)])
    face = keras.Input(x.shape[1:])
    a = aug(face)
    trainer = keras.Model(face, [ae(a), a])  # the target is the augmented input itself

    steps = max(1, int(np.ceil(len(x) / batch_size))) * max(1, epochs)
    opt = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05))
    import tensorflow as tf

    @tf.function
    def step(batch):
        with tf.GradientTape() as tape:
            rec, target = trainer(batch, training=True)
            loss = tf.reduce_mean(tf.square(rec - target / 255.0))
        grads = tape.gradient(loss, ae.trainable_variables)
        opt.apply_gradients(zip(grads, ae.trainable_variables))
        return loss

    rng = np.random.RandomState(seed)
    history = {"loss": []}
    t0 = time.time()
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        losses = [float(step(tf.constant(x[order[i:i + batch_size]]))) for i in range(0, len(x), batch_size)]
        history["loss"].append(float(np.mean(losses)))
        if log:
            log(f"autoencoder epoch {epoch + 1}: mse {history['loss'][-1]:.5f} t={time.time() - t0:.0f}s")
        if budget_s and time.time() - t0 > budget_s:
            if log:
                log(f"time budget {budget_s:.0f}s spent: stopping after epoch {epoch + 1}")
            break
    return ae, history


class AutoencoderFeatures(FaceFeatures):
    """scikit-learn transformer: the autoencoder's bottleneck code.

    ``weights="shipped"`` (or a path): ``fit`` loads the trained model. ``weights=None``:
    ``fit(X)`` trains a new autoencoder on ``X`` (labels are ignored).
    """

    def __init__(self, weights="shipped", crop="lfw", code_dim=128, epochs=10, batch_size=64, learning_rate=2e-3,
                 seed=42):
        self.weights = weights
        self.crop = crop
        self.code_dim = code_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.seed = seed

    def fit(self, X, y=None):
        if self.weights is not None:
            self.model_ = load_autoencoder(None if self.weights == "shipped" else self.weights)
            self.history_ = None
        else:
            self.model_, self.history_ = train_autoencoder(self._crops(X), self.epochs, self.batch_size,
                                                           self.learning_rate, self.code_dim, self.seed)
        self.encoder_ = encoder_of(self.model_)
        self.n_features_out_ = int(self.encoder_.output_shape[-1])
        return self

    def _features(self, crops):
        return _batched(self.encoder_, crops)

    def reconstruct(self, X) -> np.ndarray:
        """uint8 (N, 64, 64) reconstructions of the cropped inputs."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        rec = _batched(self.model_, self._crops(X))[..., 0]
        return np.clip(rec * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _batched(model, crops, batch_size: int = 256) -> np.ndarray:
    x = np.asarray(crops, np.float32)[..., None]
    if len(x) == 0:
        return np.zeros((0,) + tuple(model.output_shape[1:]), np.float32)
    return predict_batches(model, x, batch_size, precision="float32")  # as the SVMs on its codes were fitted
