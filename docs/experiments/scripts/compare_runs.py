"""Side by side, two or more training runs of the expression CNN from their history JSON files (what
``facelab train expression --model cnn`` writes next to the .keras file): the record in docs/experiments/ of why the
shipped recipe is what it is.

    python docs/experiments/scripts/compare_runs.py OUT.json NAME=HISTORY.json NAME=HISTORY.json ...

HISTORY: a history JSON file, or the stem of a shipped one (``affect_expression_cnn`` for
facelab/weights/affect_expression_cnn.history.json). Runs from any folder (the paths are taken as given).
"""
from __future__ import annotations

import argparse
import json

KEYS = ("epochs", "best_epoch", "time_budget_min", "seed", "lr", "optimizer", "weight_decay", "block_dropout", "precision", "tf_interop_threads", "train_seconds",
        "publictest_accuracy_before_bn_recalibration", "publictest_accuracy", "params")


def summary(path) -> dict:
    from facelab.affect.training import history_recipe
    from facelab.models.weights import weights_path

    with open(weights_path(path, ".history.json")) as f:
        h = json.load(f)
    row = {k: h.get(k) for k in KEYS}
    row.update(history_recipe(h))  # older histories lack these keys
    row["final_train_accuracy"] = h["accuracy"][-1]  # on augmented faces, dropout on
    row["val_accuracy_by_epoch"] = [round(v, 4) for v in h["val_accuracy"]]  # before BN recalibration
    return row


def run_pair(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=HISTORY.json, not {text!r}")
    return name, path


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="experiment record (JSON) to write")
    p.add_argument("runs", nargs="+", type=run_pair, metavar="NAME=HISTORY.json", help="the runs to compare")
    args = p.parse_args(argv)
    runs = {name: summary(path) for name, path in args.runs}
    record = {"written_by": "docs/experiments/scripts/compare_runs.py", "split": "FER2013 PublicTest (all 3,589 faces)",
              "command": "facelab train expression --model cnn --profile full [--optimizer O] [--weight-decay WD] [--block-dropout D]", "runs": runs}
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1)
    for name, r in runs.items():
        print(f"{name}: {r['epochs']} epochs (best {r['best_epoch']}), PublicTest "
              f"{100 * r['publictest_accuracy_before_bn_recalibration']:.2f} -> {100 * r['publictest_accuracy']:.2f} %")


if __name__ == "__main__":
    main()
