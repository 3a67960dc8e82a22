"""Cheap probes on the SHIPPED expression CNN: can a few more epochs after its 110-minute run lift PublicTest
accuracy? Two tails, each printing one JSON line per evaluation (PublicTest, all 3,589 faces):

  noaug LR EPOCHS   fine-tune without augmentation (train_cnn's warm-up + cosine schedule, peak LR), then
                    batch-norm recalibration: does the clean-face fit that recalibration gives come cheaper this way?
  swa LR EPOCHS     constant-LR AdamW with augmentation, weights averaged at every epoch end (stochastic weight
                    averaging, Izmailov et al., UAI 2018), batch norm recalibrated on the average
  record OUT LOG... collect the JSON lines of those runs' logs into an experiment record

Run from the repository root with FACELAB_DATA set, e.g. python tools/affect/tail_probes.py swa 2e-4 4 > swa.log
"""
import json
import sys
import time

import numpy as np


def evaluate(weights, tx, vx, vy, **info):
    from facelab.affect import expression as E

    with E.dtype_policy("float32"):
        net = E.build_expression_cnn(augment=False)
    net.set_weights(weights)
    row = dict(info, before=float((E.predict_proba(net, vx).argmax(1) == vy).mean()))
    E.recalibrate_batchnorm(net, tx, seed=42)
    row["after"] = float((E.predict_proba(net, vx).argmax(1) == vy).mean())
    row["tta"] = float((E.predict_proba(net, vx, tta=True).argmax(1) == vy).mean())
    print(json.dumps(row), flush=True)


def main(mode, lr, epochs):
    import keras

    from facelab.affect import expression as E

    tx, ty, vx, vy, _ = E.fer_training_data()
    shipped = E.load_model()
    shipped_acc = float((E.predict_proba(shipped, vx).argmax(1) == vy).mean())  # the net the tail starts from
    t0 = time.perf_counter()
    with E.dtype_policy("mixed_bfloat16"):  # as the shipped run trained
        net = E.build_expression_cnn(augment=mode == "swa")  # augmentation layers hold no weights
        net.set_weights(shipped.get_weights())
        if mode == "noaug":
            hist = E.train_cnn(net, tx, ty, vx, vy, epochs=epochs, lr=lr, verbose=2)
            return evaluate(net.get_weights(), tx, vx, vy, probe="noaug", lr=lr, epochs=epochs, shipped=shipped_acc,
                            train_accuracy=hist["accuracy"], seconds=time.perf_counter() - t0)
        net.compile(optimizer=E.make_optimizer("adam", lr, E.WEIGHT_DECAY), loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1))
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


def record(out, logs):
    rows = [json.loads(line) for log in logs for line in open(log) if line.startswith("{")]
    for row in rows:  # the first logs (2026-11-29) came from this tool's draft, which named no probe
        row.setdefault("probe", "swa" if "label" in row else "noaug")
    # the accuracy of the net the probes started from, as a noaug probe measured it (not today's shipped net's)
    start = next(row["shipped"] for row in rows if "shipped" in row)
    json.dump({"written_by": "tools/affect/tail_probes.py", "split": "FER2013 PublicTest (all 3,589 faces)",
               "shipped_publictest_accuracy": start,
               "keys": {"before": "one pass, before batch-norm recalibration", "after": "one pass, after it",
                        "tta": "mirror-averaged, after it"},
               "probes": rows}, open(out, "w"), indent=1)


if __name__ == "__main__":
    if sys.argv[1] == "record":
        record(sys.argv[2], sys.argv[3:])
    else:
        main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))
