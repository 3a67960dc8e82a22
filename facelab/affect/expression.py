"""Expression recognition: a compact CNN on 48x48 grey faces (7 FER2013 classes) and an LSTM over frame sequences.

One preprocessing path everywhere (training, evaluation, CLI): a face becomes a
48x48 uint8 grey crop (:func:`prepare_faces`); the model itself rescales to
[0, 1] and holds its own augmentation layers (active only while training), so
``model.predict(uint8 faces)`` is all a caller needs.

The CNN (:func:`build_expression_cnn`) is a compact VGG-style net: four blocks
of plain 3x3 convs with batch normalisation (one conv at 48x48, two in each
later block), global average pooling and a dropout-regularised softmax. Plain
convs rather than depthwise-separable ones: on CPU they train 8x the weights
at only half the speed, and the separable net underfit. The global-average-pooled
vector (layer ``"features"``) is the per-frame feature the sequence models use.
"""
from __future__ import annotations

import numpy as np

from ..data import FER_LABELS
from ..models.runtime import predict_batches

FACE_SIZE = 48
N_CLASSES = len(FER_LABELS)
FEATURE_LAYER = "features"
# Dropout of 0.1 x b after conv block b = 1, 2, 3, before the next block's batch norm. Without it (tried 2026-11-29,
# since dropout before a batch norm shifts the variance the batch norm sees, Li et al., CVPR 2019) the net fitted its
# training faces far more tightly and ended at the same PublicTest accuracy: docs/experiments/README.md
BLOCK_DROPOUT = 0.1


# ---------------------------------------------------------------- preprocessing
def prepare_faces(faces) -> np.ndarray:
    """Any list/array of face crops (grey or BGR, any size) → uint8 (N, 48, 48, 1)."""
    import cv2

    from ..preprocess import resize, to_mode

    out = []
    for f in faces:
        f = np.asarray(f)
        if f.dtype != np.uint8:
            f = np.clip(f, 0, 255).astype(np.uint8)
        if f.ndim == 3 and f.shape[2] == 1:
            f = f[..., 0]
        if f.ndim == 3:
            f = to_mode(f, "grey") if f.shape[2] == 3 else cv2.cvtColor(f, cv2.COLOR_BGRA2GRAY)
        if f.shape != (FACE_SIZE, FACE_SIZE):
            f = resize(f, FACE_SIZE)
        out.append(f)
    if not out:
        return np.zeros((0, FACE_SIZE, FACE_SIZE, 1), np.uint8)
    return np.stack(out)[..., None]


# ---------------------------------------------------------------- models
def augmentation_layers(strength: float = 1.0):
    """Random flip, shift (±10 %), rotation (±10°), zoom (±10 %) and contrast: training only."""
    import keras
    from keras import layers

    s = strength
    return keras.Sequential([
        layers.RandomFlip("horizontal"),
        layers.RandomTranslation(0.1 * s, 0.1 * s, fill_mode="nearest"),
        layers.RandomRotation(0.03 * s, fill_mode="nearest"),
        layers.RandomZoom(0.1 * s, fill_mode="nearest"),
        layers.RandomContrast(0.2 * s),
    ], name="augment")


def build_expression_cnn(widths=(32, 64, 128, 256), n_classes: int = N_CLASSES, dropout: float = 0.4,
                         separable: bool = False, augment: bool = True, first_separable: bool = True,
                         convs_per_block=(1, 2, 2, 2), block_dropout: float = BLOCK_DROPOUT,
                         name: str = "expression_cnn"):
    """The expression CNN (the shipped recipe is the default: a plain VGG-style net, 1.17 M parameters).

    ``widths``: channels of the four blocks (``convs_per_block`` 3x3 convs each, 2x2 max-pool
    after each block: 48 → 24 → 12 → 6 → 3). The 48x48 block has one conv by default: a second
    one there would cost as much as a whole later block (21 M multiply-adds) for little gain.
    ``separable``: depthwise-separable convs after the very first one (about 6x fewer weights
    and multiply-adds, but on CPU only 2x faster to train: the shipped net up to 2026-11-28);
    ``first_separable=False`` then makes the second conv of the 48x48 block plain too.
    ``block_dropout``: dropout of ``block_dropout * b`` after block ``b`` = 1, 2, 3 (before the next batch norm);
    ``dropout``: before the classifier, after the last batch norm.
    """
    import keras
    from keras import layers

    inp = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="face")
    x = layers.Rescaling(1 / 255.0, name="scale")(inp)
    if augment:
        x = augmentation_layers()(x)
    for b, (w, n_convs) in enumerate(zip(widths, convs_per_block)):
        for c in range(n_convs):
            plain = not separable or (b == 0 and (c == 0 or not first_separable))
            conv = layers.Conv2D if plain else layers.SeparableConv2D
            x = conv(w, 3, padding="same", use_bias=False, name=f"b{b}_conv{c}")(x)
            x = layers.BatchNormalization(name=f"b{b}_bn{c}")(x)
            x = layers.ReLU(name=f"b{b}_relu{c}")(x)
        x = layers.MaxPooling2D(name=f"b{b}_pool")(x)
        if b >= 1 and block_dropout:
            x = layers.Dropout(block_dropout * b, name=f"b{b}_drop")(x)
    feat = layers.GlobalAveragePooling2D(name=FEATURE_LAYER)(x)
    x = layers.Dropout(dropout, name="head_drop")(feat)
    # float32 softmax even when trained under mixed_bfloat16 (bf16 probabilities would make a coarse loss)
    out = layers.Dense(n_classes, activation="softmax", dtype="float32", name="expression")(x)
    return keras.Model(inp, out, name=name)


def feature_extractor(model):
    """Model mapping uint8 faces → the per-frame feature vector (global-average-pooled last block)."""
    import keras

    return keras.Model(model.input, model.get_layer(FEATURE_LAYER).output, name=model.name + "_features")


def build_sequence_model(feature_dim: int, n_classes: int = N_CLASSES, cell: str = "lstm", units: int = 64,
                         dropout: float = 0.3, name: str | None = None, outputs: dict | None = None):
    """A recurrent classifier over per-frame features (N, T, D); padded frames are all-zero and masked.

    ``cell``: ``lstm`` (expression) or ``gru`` / ``simplernn`` (affect). ``outputs``:
    {head name: classes}; default one head ``expression`` with ``n_classes``.
    """
    import keras
    from keras import layers

    rnn = {"lstm": layers.LSTM, "gru": layers.GRU, "simplernn": layers.SimpleRNN}[cell]
    inp = keras.Input((None, feature_dim), name="frames")
    x = layers.Masking(0.0, name="mask")(inp)
    x = layers.Dropout(0.2, name="frame_drop")(x)
    x = rnn(units, name=cell)(x)
    x = layers.Dropout(dropout, name="seq_drop")(x)
    outputs = outputs or {"expression": n_classes}
    outs = [layers.Dense(k, activation="softmax", name=h)(x) for h, k in outputs.items()]
    return keras.Model(inp, outs if len(outs) > 1 else outs[0], name=name or f"expression_{cell}")


# ---------------------------------------------------------------- inference
def predict_proba(model, faces, tta: bool = False, batch_size: int = 512, precision: str | None = None) -> np.ndarray:
    """Class probabilities for uint8 faces (N, 48, 48[, 1]); ``tta`` averages with the mirrored face;
    ``precision``: see :func:`facelab.models.runtime.inference_precision`."""
    x = np.asarray(faces)
    if x.ndim == 3:
        x = x[..., None]
    if len(x) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    p = predict_batches(model, x, batch_size, precision)
    if tta:
        p = (p + predict_batches(model, x[:, :, ::-1], batch_size, precision)) / 2
    return p


