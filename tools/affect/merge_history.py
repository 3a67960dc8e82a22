"""Append continuation runs (`facelab train expression --model cnn --init ...`) to the shipped expression-CNN
history, so the history JSON and the model card describe the whole chain that produced the shipped weights.

Usage, after copying the new run's .keras over the shipped one:
    python tools/affect/merge_history.py runs/NEW.history.json [runs/NEWER.history.json ...]
"""
import json
import sys

SHIPPED = "facelab/weights/affect_expression_cnn.history.json"
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


if __name__ == "__main__":
    with open(SHIPPED) as f:
        history = json.load(f)
    for path in sys.argv[1:]:
        with open(path) as f:
            history = append_run(history, json.load(f))
    with open(SHIPPED, "w") as f:
        json.dump(history, f, indent=1)
    print("runs", len(history["earlier_runs"]) + 1, "epochs", len(history["accuracy"]),
          "total min", round(history["total_train_seconds"] / 60), "final", history["publictest_accuracy"])
