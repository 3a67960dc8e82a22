"""What every training loop shares: one keep-best-epoch callback and one warm-up + cosine learning-rate curve.

Keras is imported when a callback is built, so importing this module costs nothing.
"""
from __future__ import annotations

import math
import time
from typing import Sequence


def warmup_cosine_lr(fraction: float, peak: float, warmup: float = 0.05) -> float:
    """The learning rate at ``fraction`` of training: warm-up from ``peak``/10, then cosine to 0.

    The fraction is of steps, or, with a time budget, of wall-clock time ("budgeted training", Li, Yumer &
    Ramanan, ICLR 2020): the full profile must finish in 2 hours on 2 shared cores whose speed varies by half
    from hour to hour (77-151 s per FER2013 epoch here), so a fixed epoch count either overruns or wastes time.
    Written here, once for both, because Keras's schedules are functions of the step count only."""
    fraction = min(max(fraction, 0.0), 1.0)
    if fraction < warmup:
        return peak / 10 + (peak - peak / 10) * fraction / warmup
    return 0.5 * peak * (1 + math.cos(math.pi * (fraction - warmup) / (1 - warmup)))


def progress_schedule(peak: float, seconds: float | None = None, steps: int | None = None):
    """A Keras callback that sets the learning rate before each batch from the share of training done (of
    ``steps``, or of ``seconds`` of wall-clock time, in which case training also stops when they are spent)."""
    import keras

    class ProgressSchedule(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            if not (seconds or steps):
                raise ValueError("progress_schedule needs seconds or steps")
            self.peak, self.seconds, self.steps, self.t0, self.step = peak, seconds, steps, None, 0

        def on_train_begin(self, logs=None):
            self.t0, self.step = time.perf_counter(), 0

        def on_train_batch_begin(self, batch, logs=None):
            if self.seconds:
                fraction = (time.perf_counter() - self.t0) / self.seconds
            else:
                fraction = self.step / self.steps
            self.step += 1
            self.model.optimizer.learning_rate = warmup_cosine_lr(fraction, self.peak)
            if self.seconds and fraction >= 1:
                self.model.stop_training = True  # Keras ends the epoch after this batch (validation still runs)

    return ProgressSchedule()


def keep_best(monitor: Sequence[str] = ("val_accuracy",), checkpoint=None, log: bool = False):
    """A Keras callback that remembers the weights of the epoch with the highest sum of the ``monitor`` logs
    (model selection on the validation split); after ``fit``, :meth:`restore` puts them back and ``best_epoch``
    (1-based) says which epoch won. ``checkpoint``: also save the model there whenever it improves.

    Why not ``EarlyStopping(restore_best_weights=True)``: it monitors one quantity (the emotion heads select on
    valence + arousal accuracy together), restores only when it stops early, and saves no checkpoint."""
    import keras

    keys = list(monitor)

    class KeepBest(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.checkpoint, self.best, self.weights, self.best_epoch = checkpoint, -math.inf, None, None

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            score = sum(float(logs.get(k, -1.0)) for k in keys)
            if score > self.best:
                self.best, self.best_epoch = score, epoch + 1
                self.weights = self.model.get_weights()
                if self.checkpoint:
                    self.model.save(self.checkpoint)
            if log:
                print(f"[keep-best] epoch {epoch + 1} {'+'.join(keys)} {score:.4f} best {self.best:.4f} "
                      f"(epoch {self.best_epoch})", flush=True)

        def restore(self, model=None) -> None:
            if self.weights is not None:
                (model or self.model).set_weights(self.weights)

    return KeepBest()


def history_dict(hist, best_epoch) -> dict:
    """A Keras ``History`` as plain floats, with the epoch that was kept."""
    history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}
    history["best_epoch"] = best_epoch
    return history
