"""Face verification: are two faces the same person? A score per pair, a threshold, accuracy and ROC AUC.

Scores are similarities (higher = more alike): cosine similarity for embeddings
and eigenfaces, minus the chi-square distance for LBP histograms. Protocols:

* View 1: the threshold that maximises accuracy on ``pairsDevTrain.txt`` is applied to
  ``pairsDevTest.txt`` (:func:`evaluate_view1`).
* View 2 (``pairs.txt``, 10 folds): for each fold the threshold is chosen on the other
  nine; accuracy mean and standard deviation over the folds (:func:`evaluate_folds`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np


def cosine_scores(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.sum(a * b, axis=1)


def chi2_scores(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minus the chi-square distance sum((a-b)^2 / (a+b)) between histograms (higher = more alike)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    den = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(den > 0, (a - b) ** 2 / np.where(den > 0, den, 1), 0.0)
    return -terms.sum(axis=1)


def best_threshold(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """The threshold (midpoint between sorted scores) that maximises accuracy of ``score >= t`` → same; (t, accuracy)."""
    scores = np.asarray(scores, np.float64)
    same = np.asarray(same).astype(bool)
    order = np.argsort(scores)
    s, y = scores[order], same[order]
    n = len(s)
    # predicting "same" for indices >= k: correct = (#different below k) + (#same at or above k)
    diff_below = np.concatenate([[0], np.cumsum(~y)])
    same_above = np.concatenate([np.cumsum(y[::-1])[::-1], [0]])
    correct = diff_below + same_above
    # only cut between distinct scores
    valid = np.ones(n + 1, bool)
    valid[1:n] = s[1:] > s[:-1]
    correct = np.where(valid, correct, -1)
    k = int(np.argmax(correct))
    if k == 0:
        t = s[0] - 1e-9
    elif k == n:
        t = s[-1] + 1e-9
    else:
        t = (s[k - 1] + s[k]) / 2
    return float(t), float(correct[k] / n)


def accuracy_at(scores, same, threshold: float) -> float:
    return float(np.mean((np.asarray(scores) >= threshold) == np.asarray(same).astype(bool)))


def roc_auc(scores, same) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.asarray(same).astype(int), scores))


def evaluate_view1(train_scores, train_same, test_scores, test_same) -> dict:
    """Threshold from the training pairs, accuracy and AUC on the test pairs."""
    t, train_acc = best_threshold(train_scores, train_same)
    return {"threshold": t, "train_accuracy": train_acc, "accuracy": accuracy_at(test_scores, test_same, t),
            "auc": roc_auc(test_scores, test_same), "pairs": int(len(test_same))}


def evaluate_folds(scores, same, folds) -> dict:
    """View 2: for each fold, the threshold from the other folds; accuracy mean/std over folds, AUC on all pairs."""
    scores, same, folds = np.asarray(scores), np.asarray(same).astype(bool), np.asarray(folds)
    ids = np.unique(folds)
    accs, thrs = [], []
    for f in ids:
        test = folds == f
        train = ~test if len(ids) > 1 else test
        t, _ = best_threshold(scores[train], same[train])
        accs.append(accuracy_at(scores[test], same[test], t))
        thrs.append(t)
    return {"accuracy_mean": float(np.mean(accs)), "accuracy_std": float(np.std(accs)),
            "fold_accuracies": [float(a) for a in accs], "threshold_mean": float(np.mean(thrs)),
            "thresholds": [float(t) for t in thrs], "auc": roc_auc(scores, same), "folds": int(len(ids)),
            "pairs": int(len(same))}


def pair_scores(features_fn: Callable, pairs, root=None, metric: str = "cosine", cache: dict | None = None) -> np.ndarray:
    """Scores for a list of :class:`facelab.data.Pair`: ``features_fn(paths) -> (N, D)`` features, each image once."""
    from ..data import pair_paths

    a, b, _ = pair_paths(pairs, root)
    unique = sorted({str(p) for p in a + b})
    cache = {} if cache is None else cache
    todo = [p for p in unique if p not in cache]
    if todo:
        feats = features_fn(todo)
        cache.update(zip(todo, feats))
    fa = np.stack([cache[str(p)] for p in a])
    fb = np.stack([cache[str(p)] for p in b])
    return chi2_scores(fa, fb) if metric == "chi2" else cosine_scores(fa, fb)


def verify_pairs_file(features_fn: Callable, pairs_file, root=None, metric: str = "cosine",
                      train_pairs_file=None) -> dict:
    """Evaluate a pairs file in its official format.

    View 2 (several folds): 10-fold protocol. View 1 (one fold): with ``train_pairs_file``
    the threshold comes from it; otherwise from the file itself (reported as such).
    """
    from ..data import read_pairs

    pairs = read_pairs(pairs_file, root)
    cache: dict = {}
    scores = pair_scores(features_fn, pairs, root, metric, cache)
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    if len(np.unique(folds)) > 1:
        out = evaluate_folds(scores, same, folds)
        out["protocol"] = "view2: threshold from the other folds"
    elif train_pairs_file is not None:
        tp = read_pairs(train_pairs_file, root)
        ts = pair_scores(features_fn, tp, root, metric, cache)
        r = evaluate_view1(ts, [p.same for p in tp], scores, same)
        out = {"accuracy_mean": r["accuracy"], "accuracy_std": 0.0, "auc": r["auc"], "threshold_mean": r["threshold"],
               "folds": 1, "pairs": r["pairs"], "protocol": f"view1: threshold from {Path(train_pairs_file).name}"}
    else:
        t, acc = best_threshold(scores, same)
        out = {"accuracy_mean": acc, "accuracy_std": 0.0, "auc": roc_auc(scores, same), "threshold_mean": t,
               "folds": 1, "pairs": int(len(same)), "protocol": "single fold: threshold chosen on the same pairs (optimistic)"}
    out["pairs_file"] = str(pairs_file)
    out["metric"] = metric
    return out
