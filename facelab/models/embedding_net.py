"""The CNN embedding network and its building blocks, shared by the embedding (``facelab.features``) and the
end-to-end CNN identifier (``facelab.recognition``), which starts from the same body: so it lives below both.

Architecture (64x64 grey in, ~0.55 M parameters, ~47 M multiply-adds per face):
per-image standardisation → conv16 → pool → 2x conv32 → pool → 2x conv64 → pool
→ 2x conv128 → pool → flatten → dropout → dense 128 → batch norm ("pre_embedding")
→ unit normalisation ("embedding"). Training puts a head on the pre-embedding:
plain softmax (dense + cross-entropy) or a margin loss, CosFace (Wang et al. 2018,
``s * (cos θ - m)`` for the true class) or ArcFace (Deng et al. 2019, ``s * cos(θ + m)``).
"""
from __future__ import annotations

import math
from pathlib import Path

from .weights import WEIGHTS_DIR

SHIPPED = WEIGHTS_DIR / "features_cnn.keras"


def _keras():
    import keras

    return keras


def _register():
    """Define the custom layers once (Keras is imported lazily)."""
    keras = _keras()
    from keras import ops

    if "PerImageStandardization" in globals():
        return

    @keras.saving.register_keras_serializable(package="facelab")
    class PerImageStandardization(keras.layers.Layer):
        """Each image to mean 0, std 1 (robust to exposure; the models take 0..255 pixels)."""

        def call(self, x):
            mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
            std = ops.std(x, axis=(1, 2, 3), keepdims=True)
            return (x - mean) / ops.maximum(std, 1e-3)

    @keras.saving.register_keras_serializable(package="facelab")
    class MarginHead(keras.layers.Layer):
        """Cosine classifier with an additive margin: CosFace (``cos - m``) or ArcFace (``cos(θ + m)``), scaled by ``s``."""

        def __init__(self, n_classes, kind="cosface", scale=24.0, margin=0.25, **kw):
            super().__init__(**kw)
            self.n_classes, self.kind, self.scale, self.margin = int(n_classes), kind, float(scale), float(margin)

        def build(self, input_shape):
            self.w = self.add_weight(shape=(int(input_shape[0][-1]), self.n_classes), initializer="glorot_uniform",
                                     name="class_centres")

        def call(self, inputs):
            emb, labels = inputs
            e = emb / ops.maximum(ops.norm(emb, axis=-1, keepdims=True), 1e-6)
            w = self.w / ops.maximum(ops.norm(self.w, axis=0, keepdims=True), 1e-6)
            cos = ops.clip(ops.matmul(e, w), -1.0 + 1e-6, 1.0 - 1e-6)
            onehot = ops.one_hot(ops.cast(ops.reshape(labels, (-1,)), "int32"), self.n_classes)
            if self.kind == "arcface":
                sin = ops.sqrt(1.0 - cos * cos)
                target = cos * math.cos(self.margin) - sin * math.sin(self.margin)
                # keep the logit monotonic past θ + m > π (the usual "easy margin" fallback)
                target = ops.where(cos > math.cos(math.pi - self.margin), target,
                                   cos - math.sin(math.pi - self.margin) * self.margin)
            else:
                target = cos - self.margin
            return self.scale * (onehot * target + (1.0 - onehot) * cos)

        def get_config(self):
            return {**super().get_config(), "n_classes": self.n_classes, "kind": self.kind,
                    "scale": self.scale, "margin": self.margin}

    globals()["PerImageStandardization"] = PerImageStandardization
    globals()["MarginHead"] = MarginHead


def build_embedding_net(size: int = 64, embed_dim: int = 128, width: int = 16, dropout: float = 0.2):
    """The embedding network: (size, size, 1) pixels 0..255 → unit-length ``embed_dim`` vector."""
    keras = _keras()
    _register()
    L = keras.layers
    inp = keras.Input((size, size, 1), name="face")
    x = PerImageStandardization(name="standardize")(inp)  # noqa: F821 (defined by _register)

    def conv(x, ch, name):
        x = L.Conv2D(ch, 3, padding="same", use_bias=False, name=name)(x)
        x = L.BatchNormalization(name=name + "_bn")(x)
        return L.ReLU(name=name + "_relu")(x)

    x = conv(x, width, "c1")
    x = L.MaxPooling2D(name="p1")(x)
    for block, mult in ((2, 2), (3, 4), (4, 8)):
        x = conv(x, width * mult, f"c{block}a")
        x = conv(x, width * mult, f"c{block}b")
        x = L.MaxPooling2D(name=f"p{block}")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dropout(dropout, name="dropout")(x)
    x = L.Dense(embed_dim, use_bias=False, name="dense")(x)
    x = L.BatchNormalization(name="pre_embedding")(x)
    out = L.UnitNormalization(name="embedding")(x)
    return keras.Model(inp, out, name="facelab_cnn_embedding")


def combine_embeddings(members, name: str = "facelab_cnn_embedding_ensemble"):
    """One embedding network out of several trained ones (an ensemble): their unit vectors concatenated and
    re-normalised, so the cosine of two faces is the mean of the members' cosines. Nets trained with different
    widths and augmentation make partly different errors, and the mean cancels some of them."""
    keras = _keras()
    _register()
    shapes = {tuple(m.input_shape[1:]) for m in members}
    if len(members) < 2 or len(shapes) != 1:
        raise ValueError(f"combine needs two or more embedding nets with one input shape, got {sorted(shapes)}")
    face = keras.Input(shapes.pop(), name="face")
    outs = []
    for i, m in enumerate(members):
        m.name = f"member{i + 1}"  # nested models need distinct names
        outs.append(m(face))
    x = keras.layers.Concatenate(name="members")(outs)
    return keras.Model(face, keras.layers.UnitNormalization(name="embedding")(x), name=name)


def pre_embedding_model(model):
    """Input → the pre-normalisation layer ("pre_embedding"), where a classifier head goes; for an ensemble from
    :func:`combine_embeddings`, the members' pre-embeddings side by side."""
    keras = _keras()
    members = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if not members:
        return keras.Model(model.input, model.get_layer("pre_embedding").output)
    face = keras.Input(model.input_shape[1:], name="face")
    outs = [keras.Model(m.input, m.get_layer("pre_embedding").output)(face) for m in members]
    return keras.Model(face, keras.layers.Concatenate(name="pre_embedding")(outs))


def augmentation(seed: int = 42, erasing: float = 0.0):
    """Training-time jitter for 64x64 crops: mirror, small rotation, zoom and shift, contrast; with ``erasing`` > 0
    also a random rectangle blanked in up to that fraction of the faces (occlusion: glasses, hands, hair)."""
    keras = _keras()
    L = keras.layers
    extra = [L.RandomErasing(erasing, value_range=(0, 255), seed=seed + 6)] if erasing else []
    return keras.Sequential([
        L.RandomFlip("horizontal", seed=seed),
        L.RandomRotation(0.03, fill_mode="reflect", seed=seed + 1),
        L.RandomZoom((-0.12, 0.08), fill_mode="reflect", seed=seed + 2),
        L.RandomTranslation(0.06, 0.06, fill_mode="reflect", seed=seed + 3),
        L.RandomContrast(0.3, value_range=(0, 255), seed=seed + 4),
        L.RandomBrightness(0.15, value_range=(0, 255), seed=seed + 5),
        *extra,
    ], name="augment")


def build_training_model(backbone, n_classes: int, loss: str = "softmax", scale: float = 24.0, margin: float = 0.25,
                         augment: bool = True, seed: int = 42, erasing: float = 0.0):
    """Backbone + identity head; inputs ``{"face", "label"}``, output logits for sparse cross-entropy."""
    keras = _keras()
    _register()
    face = keras.Input(backbone.input_shape[1:], name="face")
    label = keras.Input((1,), name="label", dtype="int32")
    x = augmentation(seed, erasing)(face) if augment else face
    pre = keras.Model(backbone.input, backbone.get_layer("pre_embedding").output)(x)
    if loss == "softmax":
        logits = keras.layers.Dense(n_classes, name="softmax_head")(pre)
    elif loss in ("cosface", "arcface"):
        logits = MarginHead(n_classes, loss, scale, margin, name=f"{loss}_head")([pre, label])  # noqa: F821
    else:
        raise ValueError(f"loss must be softmax, cosface or arcface, not {loss!r}")
    return keras.Model({"face": face, "label": label}, logits, name=f"train_{loss}")


def load_embedding_model(path=None):
    """Load a saved embedding network (default: the shipped ``features_cnn.keras``); its custom layers are
    registered first."""
    from .weights import load_keras

    _register()
    return load_keras(Path(path) if path else SHIPPED, retrain="facelab train features --model cnn")
