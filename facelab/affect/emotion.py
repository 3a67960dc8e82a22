"""Emotion (affect) recognition: valence (negative / neutral / positive) and arousal (low / high).

* **CNN with two heads** (:func:`build_emotion_cnn`): the trunk of the expression
  CNN (transfer: it already separates the 7 expressions) followed by one small
  shared dense layer and two softmax heads, ``valence`` (3) and ``arousal`` (2).
  Labels come from the documented mapping in :mod:`facelab.affect.mapping`.
  Training (:func:`train_emotion_cnn`) freezes the trunk and fits the heads on its
  features (fast on a CPU), then assembles one Keras model face → (valence, arousal).
* **GRU** over sequences (:func:`build_sequence_model` with ``cell="gru"``): the
  per-frame trunk features of a sequence go through one GRU layer into the same
  two heads. GRU rather than SimpleRNN because sequences run up to 24 frames and
  a SimpleRNN's gradients fade over that many steps, while a GRU's update gate
  lets it keep the apex frames and skip neutral, occluded or dropped ones; and
  rather than an LSTM because it has a quarter fewer weights for the same width
  and the training sequences are few.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..models.runtime import predict_batches, save_model
from ..models.training import history_dict, keep_best
from ..config import DEFAULT_PROFILE, training_file
from ..models.weights import load_keras
from .expression import build_sequence_model, feature_extractor, predict_proba
from .training import PROFILES, fer_training_data, now, save_history
from .mapping import AROUSAL_LABELS, VALENCE_LABELS, expression_to_affect

HEADS = {"valence": len(VALENCE_LABELS), "arousal": len(AROUSAL_LABELS)}


def build_affect_heads(feature_dim: int, hidden: int = 64, dropout: float = 0.3, name: str = "affect_heads"):
    """Features → (valence probabilities, arousal probabilities)."""
    import keras
    from keras import layers

    inp = keras.Input((feature_dim,), name="features_in")
    x = layers.Dropout(0.2, name="in_drop")(inp)
    x = layers.Dense(hidden, activation="relu", name="affect_hidden")(x)
    x = layers.Dropout(dropout, name="affect_drop")(x)
    outs = [layers.Dense(k, activation="softmax", name=h)(x) for h, k in HEADS.items()]
    return keras.Model(inp, outs, name=name)


def build_emotion_cnn(expression_model, heads=None, name: str = "emotion_cnn"):
    """One model: face (48x48x1 uint8) → [valence (3), arousal (2)], sharing the expression CNN's trunk."""
    import keras

    trunk = feature_extractor(expression_model)
    heads = heads or build_affect_heads(trunk.output_shape[-1])
    outs = heads(trunk.output)
    return keras.Model(trunk.input, outs, name=name)


def fit_heads(heads, feats, valence, arousal, val_feats, val_v, val_a, epochs: int, seed: int, verbose: int = 0):
    import keras

    from ..config import set_seeds

    set_seeds(seed)
    heads.compile(optimizer=keras.optimizers.Adam(1e-3), loss=["sparse_categorical_crossentropy"] * 2,
                  metrics=[["accuracy"], ["accuracy"]])
    best = keep_best(["val_valence_accuracy", "val_arousal_accuracy"])
    hist = heads.fit(feats, [valence, arousal], validation_data=(val_feats, [val_v, val_a]), epochs=epochs,
                     batch_size=256, verbose=verbose, callbacks=[best], shuffle=True)
    best.restore(heads)
    return history_dict(hist, best.best_epoch)


def train_emotion_cnn(profile: str = DEFAULT_PROFILE, expression_weights: str = "affect_expression_cnn",
                      out: str | Path | None = None, epochs: int | None = None, seed: int = 42) -> dict:
    """Transfer: heads on the frozen expression-CNN trunk, trained on FER2013 Training (PublicTest copies dropped)
    with mapped affect labels; the epoch is selected on PublicTest (valence + arousal accuracy)."""
    cfg = PROFILES[profile]
    expr = load_keras(expression_weights)
    trunk = feature_extractor(expr)
    tx, ty, vx, vy, dropped = fer_training_data()
    if cfg["train_subset"]:
        idx = np.random.default_rng(seed).permutation(len(tx))[:cfg["train_subset"]]
        tx, ty = tx[idx], ty[idx]
    t0 = now()
    # features of the training faces, plain and mirrored (cheap augmentation for the heads)
    f_tr = np.concatenate([predict_proba(trunk, tx), predict_proba(trunk, tx[:, :, ::-1])])
    y_tr = np.concatenate([ty, ty])
    f_va = predict_proba(trunk, vx)
    v_tr, a_tr = expression_to_affect(y_tr)
    v_va, a_va = expression_to_affect(vy)
    heads = build_affect_heads(f_tr.shape[1])
    history = fit_heads(heads, f_tr, v_tr, a_tr, f_va, v_va, a_va, epochs or (3 if profile == "quick" else 40), seed)
    model = build_emotion_cnn(expr, heads)
    seconds = now() - t0
    out = training_file("affect_emotion_cnn.keras", profile, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, out)
    pv, pa = predict_affect(model, vx)
    info = {"weights": str(out), "train_images": int(len(tx)), "dropped_publictest_copies": dropped,
            "train_seconds": round(seconds, 1), "best_epoch": history["best_epoch"],
            "publictest_valence_accuracy": float((pv.argmax(1) == v_va).mean()),
            "publictest_arousal_accuracy": float((pa.argmax(1) == a_va).mean()), "params": int(model.count_params())}
    save_history({**history, **info}, out.with_suffix(".history.json"))
    return info


def predict_affect(model, faces, tta: bool = False, batch_size: int = 512, precision: str | None = None):
    """(valence probabilities (N, 3), arousal probabilities (N, 2)) for uint8 faces; ``precision``: see
    :func:`facelab.models.runtime.inference_precision`."""
    x = np.asarray(faces)
    if x.ndim == 3:
        x = x[..., None]
    if len(x) == 0:
        return np.zeros((0, 3), np.float32), np.zeros((0, 2), np.float32)

    v, a = predict_batches(model, x, batch_size, precision)
    if tta:
        v2, a2 = predict_batches(model, x[:, :, ::-1], batch_size, precision)
        v, a = (v + v2) / 2, (a + a2) / 2
    return v, a


def build_affect_rnn(feature_dim: int, cell: str = "gru", units: int = 64):
    """GRU (default) or SimpleRNN over per-frame features → [valence, arousal] of the whole sequence."""
    return build_sequence_model(feature_dim, cell=cell, units=units, outputs=dict(HEADS), name=f"emotion_{cell}")
