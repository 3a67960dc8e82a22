"""Sequence models on simulated FER2013 sequences: the expression LSTM and the affect GRU.

Both read per-frame features of the (frozen) expression-CNN trunk, so they train
in minutes on a CPU. Training sequences come from FER2013 Training only (the
images that copy a PublicTest image removed), at mixed nuisance levels; 10 % of
them are held out to pick the epoch. Evaluation sequences come from PublicTest only.
The baseline is per-frame averaging: the mean of the per-frame CNN probabilities
over the sequence.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..models.runtime import save_model
from ..models.training import history_dict, keep_best
from ..config import DEFAULT_PROFILE, training_file
from ..models.weights import load_keras
from .expression import build_sequence_model, feature_extractor, predict_proba
from .training import PROFILES, now, save_history
from .sequences import SequenceSet, average_per_frame, frame_matrix, make_sequences, pad_features

MAX_LEN = 24
TRAIN_LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)


def fer_sequence_splits(splits=None):
    """(train FerSplit without the PublicTest copies, PublicTest FerSplit)."""
    from ..data import load_fer2013, train_val_duplicates
    from ..data.fer2013 import FerSplit

    splits = splits or load_fer2013()
    keep = ~train_val_duplicates(splits)
    tr = splits["train"]
    return FerSplit(tr.x[keep], tr.y[keep], tr.ids[keep]), splits["val"]


def mixed_sequences(split, n: int, kind: str, seed: int, levels=TRAIN_LEVELS) -> list[SequenceSet]:
    """``n`` sequences spread over the nuisance ``levels`` (one seeded set per level)."""
    per = int(np.ceil(n / len(levels)))
    return [make_sequences(split, per, kind, nuisance=lv, seed=seed + 1000 * i) for i, lv in enumerate(levels)]


def features_of(trunk, seqsets) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame trunk features of one or several SequenceSets → (padded (n, MAX_LEN, D), offsets of the frames)."""
    if isinstance(seqsets, SequenceSet):
        seqsets = [seqsets]
    feats, offs, base = [], [0], 0
    for s in seqsets:
        x, off = frame_matrix(s)
        feats.append(predict_proba(trunk, x))
        offs.extend((off[1:] + base).tolist())
        base += off[-1]
    feats = np.concatenate(feats)
    offsets = np.array(offs)
    return pad_features(feats, offsets, MAX_LEN), offsets


def _fit(model, X, ys: dict, seed: int, epochs: int, lr: float = 2e-3):
    import keras

    from ..config import set_seeds

    set_seeds(seed)
    n = len(X)
    order = np.random.default_rng(seed).permutation(n)
    hold = order[: max(1, n // 10)]
    fit = order[max(1, n // 10):]
    heads = list(ys)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=["sparse_categorical_crossentropy"] * len(heads),
                  metrics=[["accuracy"]] * len(heads))
    best = keep_best([f"val_{h}_accuracy" for h in heads] if len(heads) > 1 else ["val_accuracy"])

    y_fit = [ys[h][fit] for h in heads]
    y_hold = [ys[h][hold] for h in heads]
    if len(heads) == 1:
        y_fit, y_hold = y_fit[0], y_hold[0]
    hist = model.fit(X[fit], y_fit, validation_data=(X[hold], y_hold), epochs=epochs, batch_size=64, verbose=0,
                     callbacks=[best], shuffle=True)
    best.restore(model)
    return history_dict(hist, best.best_epoch)


def train_sequence_model(target: str = "expression", profile: str = DEFAULT_PROFILE, cnn_weights: str = "affect_expression_cnn",
                         out: str | Path | None = None, n_train: int | None = None, epochs: int | None = None,
                         cell: str | None = None, seed: int = 42, splits=None) -> dict:
    """``target`` ``expression`` → LSTM (7 classes); ``emotion`` → GRU with valence and arousal heads."""
    cfg = PROFILES[profile]
    cell = cell or ("lstm" if target == "expression" else "gru")
    trunk = feature_extractor(load_keras(cnn_weights))
    train_split, _ = fer_sequence_splits(splits)
    n_train = n_train or cfg["seq_train"]
    t0 = now()
    sets = mixed_sequences(train_split, n_train, target, seed)
    X, _ = features_of(trunk, sets)
    if target == "expression":
        ys = {"expression": np.concatenate([s.labels("expression") for s in sets])}
        model = build_sequence_model(X.shape[-1], cell=cell, units=64)
    else:
        ys = {h: np.concatenate([s.labels(h) for s in sets]) for h in ("valence", "arousal")}
        from .emotion import build_affect_rnn

        model = build_affect_rnn(X.shape[-1], cell=cell)
    history = _fit(model, X, ys, seed, epochs or cfg["seq_epochs"])
    seconds = now() - t0
    name = f"affect_{target}_{cell}"
    out = training_file(f"{name}.keras", profile, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, out)
    info = {"weights": str(out), "cell": cell, "train_sequences": int(len(X)), "train_seconds": round(seconds, 1),
            "best_epoch": history["best_epoch"], "params": int(model.count_params()), "features_from": cnn_weights,
            "levels": list(TRAIN_LEVELS)}
    save_history({**history, **info}, out.with_suffix(".history.json"))
    return info


def evaluate_sequences(seqs: SequenceSet, trunk, seq_model, frame_model, target: str = "expression") -> dict:
    """Accuracy of the sequence model and of per-frame averaging on the same sequences.

    ``frame_model``: the per-frame classifier whose averaged probabilities are the baseline
    (the expression CNN for ``expression``; the emotion CNN for ``emotion``).
    """
    from .emotion import predict_affect

    X, offsets = features_of(trunk, seqs)
    frames, _ = frame_matrix(seqs)
    out = {"n": len(seqs), "nuisance": seqs.nuisance}
    if target == "expression":
        y = seqs.labels("expression")
        p_seq = np.asarray(seq_model.predict(X, verbose=0, batch_size=256))
        p_avg = average_per_frame(predict_proba(frame_model, frames), offsets)
        out.update(seq_accuracy=float((p_seq.argmax(1) == y).mean()), avg_accuracy=float((p_avg.argmax(1) == y).mean()),
                   seq_pred=p_seq.argmax(1), avg_pred=p_avg.argmax(1), y=y)
        return out
    pv, pa = seq_model.predict(X, verbose=0, batch_size=256)
    fv, fa = predict_affect(frame_model, frames)
    av, aa = average_per_frame(fv, offsets), average_per_frame(fa, offsets)
    yv, ya = seqs.labels("valence"), seqs.labels("arousal")
    out.update(seq_valence=float((np.argmax(pv, 1) == yv).mean()), avg_valence=float((av.argmax(1) == yv).mean()),
               seq_arousal=float((np.argmax(pa, 1) == ya).mean()), avg_arousal=float((aa.argmax(1) == ya).mean()))
    return out
