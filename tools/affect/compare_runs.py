"""Side by side, two training runs of the expression CNN from their history JSON files (what train_expression_cnn
writes next to the .keras file): the record in docs/experiments/ of why the shipped recipe is what it is.

Run from the repository root: python tools/affect/compare_runs.py OUT.json NAME=HISTORY.json NAME=HISTORY.json ...
"""
import json
import sys

from facelab.affect.expression import history_recipe

KEYS = ("epochs", "best_epoch", "time_budget_min", "seed", "lr", "optimizer", "weight_decay", "block_dropout", "precision", "tf_interop_threads", "train_seconds",
        "publictest_accuracy_before_bn_recalibration", "publictest_accuracy", "params")


def summary(path):
    h = json.load(open(path))
    row = {k: h.get(k) for k in KEYS}
    row.update(history_recipe(h))  # older histories lack these keys
    row["final_train_accuracy"] = h["accuracy"][-1]  # on augmented faces, dropout on
    row["val_accuracy_by_epoch"] = [round(v, 4) for v in h["val_accuracy"]]  # before BN recalibration
    return row


if __name__ == "__main__":
    out, pairs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
    runs = {name: summary(path) for name, path in pairs}
    record = {"written_by": "tools/affect/compare_runs.py", "split": "FER2013 PublicTest (all 3,589 faces)",
              "command": "facelab train expression --model cnn --profile full [--optimizer O] [--weight-decay WD] [--block-dropout D]", "runs": runs}
    json.dump(record, open(out, "w"), indent=1)
    for name, r in runs.items():
        print(f"{name}: {r['epochs']} epochs (best {r['best_epoch']}), PublicTest "
              f"{100 * r['publictest_accuracy_before_bn_recalibration']:.2f} -> {100 * r['publictest_accuracy']:.2f} %")
