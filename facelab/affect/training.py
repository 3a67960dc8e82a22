"""Training the expression CNN: the FER2013 training data, the optimisers and their schedule, the recipe
`facelab train expression --model cnn` runs, batch-norm recalibration, and the architecture comparison of notebook 05.
The nets themselves are in :mod:`.expression`."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from ..config import DEFAULT_PROFILE, training_file
from ..models.runtime import cpu_has_bf16, dtype_policy, rebuilt, save_model
from ..models.training import history_dict, keep_best, progress_schedule
from ..models.weights import load_keras
from .expression import BLOCK_DROPOUT, build_expression_cnn, predict_proba

# AdamW's decoupled decay for train_cnn: with peak lr 2e-3 a step of 2e-4 at the peak, which is the AdamW paper's
# normalised decay of 0.025 for batch 128, ~28 k faces and ~65 epochs (lambda = lambda_norm * sqrt(b / (B T)))
WEIGHT_DECAY = 0.1


# optimiser -> its default (peak learning rate, decoupled weight decay). adam: AdamW (Adam when the decay is 0).
# sgd: Nesterov momentum 0.9 at the usual peak lr 0.1 for batch 128, with a decoupled step of lr x 5e-3 = the classic
# L2 of 5e-4 under momentum 0.9 (Keras decays by lr * weight_decay per step, outside the momentum)
OPTIMIZERS = {"adam": (2e-3, WEIGHT_DECAY), "sgd": (0.1, 5e-3)}


# The shipped recipe's optimiser (train_expression_cnn and `facelab train expression`; train_cnn itself defaults to
# adam). SGD replaced AdamW on 2026-11-29: 67.7 % against 67.3 % on PublicTest, one run each in the same 110-minute
# budget (docs/experiments/README.md)
EXPRESSION_OPTIMIZER = "sgd"


# ---------------------------------------------------------------- data
def fer_training_data(splits=None, drop_duplicates: bool = True):
    """FER2013 Training (minus the images that copy a PublicTest image) and PublicTest, as (x, y) uint8 NHWC.

    Returns ``train_x, train_y, val_x, val_y, n_dropped``.
    """
    from ..data import load_fer2013, train_val_duplicates

    splits = splits or load_fer2013()
    tr, va = splits["train"], splits["val"]
    keep = ~train_val_duplicates(splits) if drop_duplicates else np.ones(len(tr), bool)
    return tr.x[keep][..., None], tr.y[keep], va.x[..., None], va.y, int((~keep).sum())


# ---------------------------------------------------------------- training
def train_cnn(model, train_x, train_y, val_x, val_y, epochs: int = 30, batch_size: int = 128, lr: float | None = None,
              label_smoothing: float = 0.1, checkpoint: str | Path | None = None, verbose: int = 2, seed: int = 42,
              class_weight=None, extra_callbacks=(), time_budget_s: float | None = None,
              weight_decay: float | None = None, optimizer: str = "adam"):
    """Adam(W) or SGD (``optimizer``; ``lr`` and ``weight_decay`` default to its :data:`OPTIMIZERS` entry) with a
    one-cycle-ish schedule (:func:`facelab.models.training.warmup_cosine_lr`: linear warm-up over 5 %, cosine decay to 0),
    label smoothing; keeps the weights of the epoch with the best validation accuracy (model selection on ``val``).

    ``weight_decay`` > 0: AdamW (decoupled decay, Loshchilov & Hutter, ICLR 2019), a step of ``lr * weight_decay``
    on conv and dense kernels only (batch-norm scales/offsets and biases are excluded, as usual).
    ``optimizer="sgd"``: SGD with Nesterov momentum 0.9 instead of Adam, with the same schedule and the same
    decoupled decay (Keras's: a step of ``lr * weight_decay``, so 5e-3 at peak lr 0.1 is the classic L2 of 5e-4).

    ``time_budget_s``: the schedule runs over that much wall-clock time instead of ``epochs`` (then only a cap)
    and training stops when it is spent."""
    import keras

    from ..config import set_seeds

    lr, weight_decay = optimizer_settings(optimizer, lr, weight_decay)
    set_seeds(seed)
    best = keep_best(["val_accuracy"], checkpoint, log=True)
    steps = int(np.ceil(len(train_x) / batch_size)) * epochs
    schedule = progress_schedule(lr, seconds=time_budget_s, steps=None if time_budget_s else steps)
    # a plain learning-rate variable, starting at the warm-up's lr / 10: the schedule callback sets it.
    # jit_compile stays "auto", which Keras resolves to no XLA for a net with random augmentation layers; on the
    # 2-core CPU XLA would not help anyway: it halved bfloat16 training speed in a probe (2026-11-29, the net
    # without augmentation layers: 125-156 faces/s with XLA, 249-346 without)
    model.compile(optimizer=make_optimizer(optimizer, lr / 10, weight_decay),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
                  metrics=["accuracy"])
    y_tr = keras.utils.to_categorical(train_y, model.output_shape[-1])
    y_va = keras.utils.to_categorical(val_y, model.output_shape[-1])
    hist = model.fit(train_x, y_tr, validation_data=(val_x, y_va), epochs=epochs, batch_size=batch_size,
                     shuffle=True, verbose=verbose, callbacks=[best, schedule, *extra_callbacks],
                     class_weight=class_weight)
    best.restore(model)
    return history_dict(hist, best.best_epoch)


def make_optimizer(optimizer: str, lr: float, weight_decay: float):
    """The Keras optimiser :func:`train_cnn` trains with: SGD with Nesterov momentum 0.9, AdamW, or Adam when
    ``weight_decay`` is 0; the decay (decoupled, a step of ``lr * weight_decay``) on conv and dense kernels only."""
    import keras

    if optimizer == "sgd":
        opt = keras.optimizers.SGD(lr, momentum=0.9, nesterov=True, weight_decay=weight_decay or None)
    elif weight_decay:
        opt = keras.optimizers.AdamW(lr, weight_decay=weight_decay)
    else:
        opt = keras.optimizers.Adam(lr)
    if weight_decay:
        opt.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    return opt


def optimizer_settings(optimizer: str, lr: float | None = None, weight_decay: float | None = None):
    """(peak lr, weight decay) for ``optimizer``: the values given, else its defaults in :data:`OPTIMIZERS`."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, not {optimizer!r}")
    default_lr, default_decay = OPTIMIZERS[optimizer]
    return (default_lr if lr is None else lr), (default_decay if weight_decay is None else weight_decay)


def save_history(history: dict, path) -> None:
    Path(path).write_text(json.dumps(history, indent=1))


def history_recipe(history: dict) -> dict:
    """The optimiser, dropout and seed a saved training history records. Histories written before 2026-11-29 lack
    them; those nets were trained with plain Adam (no weight decay), block dropout 0.1 and seed 42, and all before the
    ``optimizer`` key with Adam(W)."""
    from ..config import SEED

    return {"optimizer": history.get("optimizer", "adam"), "weight_decay": history.get("weight_decay") or 0.0,
            "block_dropout": history.get("block_dropout", 0.1), "seed": history.get("seed", SEED)}


def now() -> float:
    return time.perf_counter()


# ---------------------------------------------------------------- the recipes `facelab train expression` runs
PROFILES = {
    # quick: the workflow on a small subset in about a minute; full: the shipped weights
    "quick": {"train_subset": 3000, "epochs": 1, "seq_train": 300, "seq_epochs": 2},
    # full: a 110-minute wall-clock schedule (see facelab.models.training.warmup_cosine_lr), 200 epochs at most; --epochs N: N epochs instead.
    # 110 minutes leave ~8 minutes of the 2-hour target for loading FER2013 and the batch-norm recalibration.
    "full": {"train_subset": None, "epochs": 200, "minutes": 110, "seq_train": 3000, "seq_epochs": 30},
}


def train_expression_cnn(profile: str = DEFAULT_PROFILE, out: str | Path | None = None, epochs: int | None = None,
                         seed: int = 42, verbose: int = 2, init: str | Path | None = None, lr: float | None = None,
                         precision: str = "auto", minutes: float | None = None,
                         weight_decay: float | None = None, block_dropout: float = BLOCK_DROPOUT,
                         optimizer: str = EXPRESSION_OPTIMIZER) -> dict:
    """Train the expression CNN on FER2013 Training (PublicTest copies dropped), select on PublicTest, save ``out``.

    ``init``: continue from these weights (a .keras file) instead of a fresh net, e.g. more epochs at a lower ``lr``.
    ``precision``: ``"mixed_bfloat16"`` (bfloat16 maths, float32 weights), ``"float32"``, or ``"auto"``: the first
    where the CPU has native bfloat16 (:func:`cpu_has_bf16`) and there is no ``init`` (a loaded net keeps the
    float32 layers it was saved with), else float32. The saved net is float32 either way (:func:`rebuilt`).
    ``minutes``: wall-clock training budget (default: the profile's; none when ``epochs`` is given).
    ``block_dropout``: see :func:`build_expression_cnn` (ignored with ``init``: the loaded net keeps its layers).
    ``optimizer``, ``lr``, ``weight_decay``: see :func:`train_cnn`; ``None`` takes the optimiser's default
    (:data:`OPTIMIZERS`).
    """
    from ..config import set_seeds

    lr, weight_decay = optimizer_settings(optimizer, lr, weight_decay)

    cfg = PROFILES[profile]
    if precision == "auto":
        precision = "mixed_bfloat16" if cpu_has_bf16() and not init else "float32"
    minutes = None if epochs else (minutes or cfg.get("minutes"))
    set_seeds(seed)
    tx, ty, vx, vy, dropped = fer_training_data()
    if cfg["train_subset"]:
        idx = np.random.default_rng(seed).permutation(len(tx))[:cfg["train_subset"]]
        tx, ty = tx[idx], ty[idx]
    out = training_file("affect_expression_cnn.keras", profile, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = now()
    with dtype_policy(precision):
        model = load_keras(init) if init else build_expression_cnn(block_dropout=block_dropout)
        history = train_cnn(model, tx, ty, vx, vy, epochs=epochs or cfg["epochs"], checkpoint=out,
                            verbose=verbose, seed=seed, lr=lr, time_budget_s=minutes * 60 if minutes else None,
                            weight_decay=weight_decay, optimizer=optimizer)
    if precision != "float32":
        model = rebuilt(model, float32=True)
    acc_before = float((predict_proba(model, vx).argmax(1) == vy).mean())
    recalibrate_batchnorm(model, tx, seed=seed)
    seconds = now() - t0
    save_model(model, out)
    acc = float((predict_proba(model, vx).argmax(1) == vy).mean())
    info = {"weights": str(out), "train_images": int(len(tx)), "dropped_publictest_copies": dropped,
            "epochs": len(history["loss"]), "time_budget_min": minutes, "init": str(init) if init else None, "seed": seed, "lr": lr,
            "optimizer": optimizer, "weight_decay": weight_decay, "block_dropout": _block_dropout_of(model),
            "precision": precision, "tf_interop_threads": os.environ.get("TF_NUM_INTEROP_THREADS"), "best_epoch": history["best_epoch"], "train_seconds": round(seconds, 1),
            "publictest_accuracy_before_bn_recalibration": acc_before, "publictest_accuracy": acc,
            "params": int(model.count_params())}
    save_history({**history, **info}, out.with_suffix(".history.json"))
    return info


def _block_dropout_of(model) -> float:
    """The ``block_dropout`` a built net has (a net loaded with ``init`` keeps the one it was built with)."""
    names = {layer.name: layer for layer in model.layers}
    return float(names["b1_drop"].rate) if "b1_drop" in names else 0.0


# ---------------------------------------------------------------- the architecture comparison the notebook shows
ARCHITECTURES = {
    "VGG-style, one conv at 48x48 (shipped)": {},
    "VGG-style, two convs at 48x48": {"convs_per_block": (2, 2, 2, 2)},
    "separable (shipped until 2026-11-28)": {"separable": True, "convs_per_block": (2, 2, 2, 2)},
    "narrow separable": {"widths": (24, 48, 96, 192), "separable": True, "convs_per_block": (2, 2, 2, 2)},
}


def compare_architectures(train_x, train_y, val_x, val_y, epochs: int = 0, speed_faces: int = 512, seed: int = 42,
                          architectures=None) -> list[dict]:
    """Cost and accuracy of candidate CNNs: parameters, training and inference faces/s on this machine and,
    when ``epochs`` > 0, validation accuracy after that many epochs on ``train_x`` and batch-norm
    recalibration (same recipe for all)."""
    import keras

    from ..evaluation import throughput

    rows = []
    for name, kw in (architectures or ARCHITECTURES).items():
        keras.utils.set_random_seed(seed)
        model = build_expression_cnn(**kw)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        xs, ys = train_x[:speed_faces], train_y[:speed_faces]
        model.fit(xs[:128], ys[:128], batch_size=128, verbose=0)  # build and warm up
        t0 = now()
        model.fit(xs, ys, batch_size=128, verbose=0)
        train_fps = len(xs) / (now() - t0)
        infer = throughput(lambda b: predict_proba(model, b), val_x[:speed_faces], warmup=1, repeats=2)
        row = {"architecture": name, "params": int(model.count_params()), "train_faces_per_s": round(train_fps, 1),
               "inference_faces_per_s": round(infer["items_per_s"], 1)}
        if epochs:
            model = build_expression_cnn(**kw)
            t0 = now()
            train_cnn(model, train_x, train_y, val_x, val_y, epochs=epochs, verbose=0, seed=seed)
            # as the shipped recipe does: after a few epochs the augmented-batch statistics are far off
            recalibrate_batchnorm(model, train_x, seed=seed)
            minutes = (now() - t0) / 60
            acc = float((predict_proba(model, val_x).argmax(1) == val_y).mean())
            row.update(val_accuracy=acc, train_minutes=round(minutes, 2),
                       accuracy_per_cpu_minute=round(acc / max(minutes, 1e-6), 4))
        rows.append(row)
    return rows


def recalibrate_batchnorm(model, faces, batch_size: int = 256, max_faces: int = 20000, seed: int = 0) -> None:
    """Re-estimate every BatchNormalization layer's moving mean/variance on clean faces, in place.

    During training, BN sees activations of *augmented* faces *after dropout*, whose variance differs from
    what it sees at inference (no augmentation, no dropout: the "variance shift" of Li et al., CVPR 2019,
    "Understanding the disharmony between dropout and batch normalization"). One forward pass over clean
    training faces with BN in batch-statistics mode and everything else in inference mode, averaging the
    batch statistics, removes that mismatch. The weights themselves do not change.
    """
    import keras

    x = np.asarray(faces)
    if x.ndim == 3:
        x = x[..., None]
    idx = np.random.default_rng(seed).permutation(len(x))[:max_faces]
    bns = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    saved = [l.momentum for l in bns]
    try:
        for k, start in enumerate(range(0, len(idx), batch_size)):
            for l in bns:
                l.momentum = k / (k + 1)  # running average of the batch statistics (k = 0 takes the first batch)
            h = x[np.sort(idx[start:start + batch_size])].astype(np.float32)
            for layer in model.layers[1:]:
                h = layer(h, training=isinstance(layer, keras.layers.BatchNormalization))
    finally:
        for l, m in zip(bns, saved):
            l.momentum = m
