"""Append continuation runs (``facelab train expression --model cnn --init ... --out ...``) to the shipped
expression-CNN history, so the history JSON and the model card describe the whole chain that produced the shipped
weights.

Usage, after copying the last run's .keras over facelab/weights/affect_expression_cnn.keras:

    python docs/experiments/scripts/merge_history.py runs/NEW.history.json [runs/NEWER.history.json ...]

Runs from any folder: the shipped history is found from the package (``--into`` names another one), the runs'
paths are taken as given. Then ``facelab report --update-cards`` rewrites the card.
"""
from __future__ import annotations

import argparse
import json

RUN_KEYS = ("epochs", "lr", "init", "train_seconds", "best_epoch", "publictest_accuracy")


def append_run(chain: dict, run: dict) -> dict:
    """The history of ``chain`` continued by ``run``: curves concatenated, the chain's last run summarised in
    ``earlier_runs``, ``run``'s own fields on top."""
    out = {k: v for k, v in run.items() if k not in ("loss", "val_loss")}
    out["accuracy"] = chain["accuracy"] + run["accuracy"]
    out["val_accuracy"] = chain["val_accuracy"] + run["val_accuracy"]
    out["earlier_runs"] = chain.get("earlier_runs", []) + [{k: chain.get(k) for k in RUN_KEYS}]
    out["total_train_seconds"] = chain.get("total_train_seconds", chain["train_seconds"]) + run["train_seconds"]
    return out


def main(argv=None) -> None:
    from facelab.models.weights import weights_path

    shipped = weights_path("affect_expression_cnn", ".history.json")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", metavar="RUN.history.json", help="continuation runs, in the order they ran")
    p.add_argument("--into", default=str(shipped), help=f"the chain's history JSON, rewritten in place (default {shipped})")
    args = p.parse_args(argv)
    with open(args.into) as f:
        history = json.load(f)
    for path in args.runs:
        with open(path) as f:
            history = append_run(history, json.load(f))
    with open(args.into, "w") as f:
        json.dump(history, f, indent=1)
    print("runs", len(history["earlier_runs"]) + 1, "epochs", len(history["accuracy"]),
          "total min", round(history["total_train_seconds"] / 60), "final", history["publictest_accuracy"])


if __name__ == "__main__":
    main()
