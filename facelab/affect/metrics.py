"""Classification metrics the affect stage reports: accuracy, macro F1, per-class recall, confusion matrix."""
from __future__ import annotations

import numpy as np


def classification_metrics(y_true, y_pred, labels: list[str]) -> dict:
    """Accuracy, macro F1 (over the classes present in ``y_true`` or ``y_pred``), per-class recall and the
    confusion matrix (rows = true class, columns = predicted class, in the order of ``labels``)."""
    from sklearn.metrics import confusion_matrix, f1_score

    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    k = len(labels)
    cm = confusion_matrix(y_true, y_pred, labels=list(range(k)))
    support = cm.sum(1)
    recall = {labels[i]: (float(cm[i, i] / support[i]) if support[i] else None) for i in range(k)}
    present = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    return {"n": int(len(y_true)), "accuracy": float((y_true == y_pred).mean()) if len(y_true) else float("nan"),
            "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
            "per_class_recall": recall, "support": {labels[i]: int(support[i]) for i in range(k)},
            "labels": list(labels), "confusion_matrix": cm.tolist()}
