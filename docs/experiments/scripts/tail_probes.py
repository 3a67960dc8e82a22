"""Cheap probes on the SHIPPED expression CNN: can a few more epochs after its 110-minute run lift PublicTest
accuracy? Two tails, each printing one JSON line per evaluation (PublicTest, all 3,589 faces):

  noaug LR EPOCHS   fine-tune without augmentation (train_cnn's warm-up + cosine schedule, peak LR), then
                    batch-norm recalibration: does the clean-face fit that recalibration gives come cheaper this way?
  swa LR EPOCHS     constant-LR AdamW with augmentation, weights averaged at every epoch end (stochastic weight
                    averaging, Izmailov et al., UAI 2018), batch norm recalibrated on the average
  distill LR EPOCHS ALPHA TEACHER.keras...
                    SGD (the recipe's optimiser, warm-up + cosine to 0) towards ALPHA x the smoothed labels + (1 - ALPHA)
                    x the teachers' averaged probabilities, computed on the same augmented face the student sees
                    ("function matching", Beyer et al., CVPR 2022; teachers frozen, without dropout); can the
                    ensemble's extra point be folded into one net's single pass?
  record OUT LOG... collect the JSON lines of those runs' logs into an experiment record

Runs from any folder (the shipped net is found from the package; other paths are taken as given), with FACELAB_DATA
set where FER2013 is not found by default, e.g.

    python docs/experiments/scripts/tail_probes.py swa 2e-4 4 > swa.log
    python docs/experiments/scripts/tail_probes.py record docs/experiments/expression_tail_probes_DATE.json noaug.log swa.log
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

#: the shipped net as the logs name it (a teacher path typed from the repository root, as on 2026-11-29)
SHIPPED = "facelab/weights/affect_expression_cnn.keras"


def _is_shipped(path: str) -> bool:
    """Whether a teacher path typed on a command line is the shipped net (as a stem, a relative or a full path)."""
    from facelab.models.weights import weights_path

    return path == SHIPPED or weights_path(path).resolve() == weights_path("affect_expression_cnn").resolve()


def evaluate(weights, tx, vx, vy, **info):
    from facelab.affect import expression as E, training as T
    from facelab.models.runtime import dtype_policy

    with dtype_policy("float32"):
        net = E.build_expression_cnn(augment=False)
    net.set_weights(weights)
    row = dict(info, before=float((E.predict_proba(net, vx).argmax(1) == vy).mean()))
    T.recalibrate_batchnorm(net, tx, seed=42)
    row["after"] = float((E.predict_proba(net, vx).argmax(1) == vy).mean())
    row["tta"] = float((E.predict_proba(net, vx, tta=True).argmax(1) == vy).mean())
    print(json.dumps(row), flush=True)


def main(mode, lr, epochs):
    import keras

    from facelab.affect import expression as E, training as T
    from facelab.models.runtime import dtype_policy
    from facelab.models.weights import load_keras

    tx, ty, vx, vy, _ = T.fer_training_data()
    shipped = load_keras("affect_expression_cnn")
    shipped_acc = float((E.predict_proba(shipped, vx).argmax(1) == vy).mean())  # the net the tail starts from
    t0 = time.perf_counter()
    with dtype_policy("mixed_bfloat16"):  # as the shipped run trained
        net = E.build_expression_cnn(augment=mode == "swa")  # augmentation layers hold no weights
        net.set_weights(shipped.get_weights())
        if mode == "noaug":
            hist = T.train_cnn(net, tx, ty, vx, vy, epochs=epochs, lr=lr, verbose=2)
            return evaluate(net.get_weights(), tx, vx, vy, probe="noaug", lr=lr, epochs=epochs, shipped=shipped_acc,
                            train_accuracy=hist["accuracy"], seconds=time.perf_counter() - t0)
        net.compile(optimizer=T.make_optimizer("adam", lr, T.WEIGHT_DECAY), loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1))
        y = keras.utils.to_categorical(ty, E.N_CLASSES)
        avg = None
        for k in range(1, epochs + 1):
            net.fit(tx, y, epochs=1, batch_size=128, shuffle=True, verbose=2)
            w = [np.asarray(v, np.float64) for v in net.get_weights()]
            avg = w if avg is None else [a + (b - a) / k for a, b in zip(avg, w)]
            if k in (1, 2, 4, 6, 8) or k == epochs:
                evaluate([a.astype(np.float32) for a in avg], tx, vx, vy, probe="swa", label=f"swa{k}", lr=lr,
                         t=time.perf_counter() - t0)
            if k in (2, epochs):
                evaluate([a.astype(np.float32) for a in w], tx, vx, vy, probe="swa", label=f"last{k}", lr=lr,
                         t=time.perf_counter() - t0)


def distill(lr, epochs, alpha, teacher_paths):
    import keras
    from keras import layers, ops

    from facelab.affect import expression as E, training as T
    from facelab.config import set_seeds
    from facelab.models.runtime import dtype_policy
    from facelab.models.training import progress_schedule
    from facelab.models.weights import load_keras

    set_seeds(42)
    tx, ty, vx, vy, _ = T.fer_training_data()
    loaded = [load_keras(p) for p in teacher_paths]
    probs = [E.predict_proba(m, vx) for m in loaded]
    mirror = [E.predict_proba(m, vx, tta=True) for m in loaded]
    print(json.dumps({"teachers": teacher_paths, "each": [float((p.argmax(1) == vy).mean()) for p in probs],
                      "ensemble": float((np.mean(probs, 0).argmax(1) == vy).mean()),
                      "ensemble_mirror": float((np.mean(mirror, 0).argmax(1) == vy).mean())}), flush=True)
    t0 = time.perf_counter()
    with dtype_policy("mixed_bfloat16"):  # as the shipped run trained
        student = E.build_expression_cnn(augment=False, name="student")
        student.set_weights(load_keras("affect_expression_cnn").get_weights())
        teachers = []
        for k, m in enumerate(loaded):  # built without dropout layers (they hold no weights): frozen, inference mode
            t = E.build_expression_cnn(augment=False, dropout=0.0, block_dropout=0.0, name=f"teacher{k}")
            t.set_weights(m.get_weights())
            t.trainable = False  # Keras 3: the batch norm of a frozen layer runs in inference mode
            teachers.append(t)
        inp = keras.Input((E.FACE_SIZE, E.FACE_SIZE, 1), name="face")
        x = layers.Rescaling(1 / 255.0)(inp)  # the augmentation works on [0, 1], as inside the shipped net
        x = layers.Rescaling(255.0)(E.augmentation_layers()(x))
        out = layers.Concatenate(dtype="float32")([student(x), layers.Average()([m(x) for m in teachers])])
        combo = keras.Model(inp, out)

    def loss(y_true, y_pred):  # y_pred: the student's 7 probabilities, then the teachers' averaged 7
        s, t = y_pred[:, :E.N_CLASSES], ops.stop_gradient(y_pred[:, E.N_CLASSES:])
        target = alpha * (y_true * 0.9 + 0.1 / E.N_CLASSES) + (1 - alpha) * t
        return keras.losses.categorical_crossentropy(target, s)

    combo.compile(optimizer=T.make_optimizer("sgd", lr / 10, T.optimizer_settings("sgd")[1]), loss=loss)  # recipe decay

    class Evaluate(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            evaluate(student.get_weights(), tx, vx, vy, probe="distill", epoch=epoch + 1, lr=lr, alpha=alpha,
                     epochs=epochs, loss=float(logs["loss"]), t=round(time.perf_counter() - t0))

    steps = int(np.ceil(len(tx) / 128)) * epochs
    combo.fit(tx, keras.utils.to_categorical(ty, E.N_CLASSES), epochs=epochs, batch_size=128, shuffle=True,
              verbose=2, callbacks=[progress_schedule(lr, steps=steps), Evaluate()])


def record(out, logs):
    rows = []
    for log in logs:
        with open(log) as f:
            rows += [json.loads(line) for line in f if line.startswith("{")]
    for row in rows:  # the first logs (2026-11-29) came from this tool's draft, which named no probe
        row.setdefault("probe", "distill_teachers" if "teachers" in row else "swa" if "label" in row else "noaug")
    # the accuracy of the net the probes started from, as a noaug probe measured it (not today's shipped net's)
    # (a distill log names no start: its student starts from the shipped net, which is also among its teachers)
    start = next(row["shipped"] if "shipped" in row else
                 row["each"][next(i for i, t in enumerate(row["teachers"]) if _is_shipped(t))]
                 for row in rows if "shipped" in row or any(_is_shipped(t) for t in row.get("teachers", ())))
    rec = {"written_by": "docs/experiments/scripts/tail_probes.py", "split": "FER2013 PublicTest (all 3,589 faces)",
               "shipped_publictest_accuracy": start,
               "keys": {"before": "one pass, before batch-norm recalibration", "after": "one pass, after it",
                        "tta": "mirror-averaged, after it"},
               "probes": rows}
    with open(out, "w") as f:
        json.dump(rec, f, indent=1)


def cli(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="probe", required=True)
    for mode, about in (("noaug", "fine-tune without augmentation, then batch-norm recalibration"),
                        ("swa", "constant-LR AdamW with augmentation, weights averaged at every epoch end")):
        q = sub.add_parser(mode, help=about)
        q.add_argument("lr", type=float)
        q.add_argument("epochs", type=int)
    q = sub.add_parser("distill", help="SGD towards ALPHA x the smoothed labels + (1 - ALPHA) x the teachers' probabilities")
    q.add_argument("lr", type=float)
    q.add_argument("epochs", type=int)
    q.add_argument("alpha", type=float)
    q.add_argument("teachers", nargs="+", metavar="TEACHER.keras")
    q = sub.add_parser("record", help="collect the JSON lines of the probes' logs into an experiment record")
    q.add_argument("out", metavar="OUT.json")
    q.add_argument("logs", nargs="+", metavar="LOG")
    args = p.parse_args(argv)
    if args.probe == "record":
        record(args.out, args.logs)
    elif args.probe == "distill":
        distill(args.lr, args.epochs, args.alpha, args.teachers)
    else:
        main(args.probe, args.lr, args.epochs)


if __name__ == "__main__":
    cli()
