"""Open-set identification rules from genuine/impostor similarity scores (scikit-learn based).

The lead chooses the threshold at a target false-accept rate and fits the confidence on a
validation split, then checks both on another split; the results are plain floats, stored
in the embedding's model card and applied by :class:`facelab.gallery.OpenSetRule`
(accept ``score >= threshold``; ``P(same) = 1 / (1 + exp(-(slope * score + intercept)))``).
"""
from __future__ import annotations

import numpy as np


def _scores(genuine, impostor) -> tuple[np.ndarray, np.ndarray]:
    genuine, impostor = np.asarray(genuine, np.float64).ravel(), np.asarray(impostor, np.float64).ravel()
    if len(genuine) == 0 or len(impostor) == 0:
        raise ValueError(f"need genuine and impostor scores, got {len(genuine)} genuine and {len(impostor)} impostor")
    if not (np.isfinite(genuine).all() and np.isfinite(impostor).all()):
        raise ValueError("scores hold NaN or infinity")
    return genuine, impostor


def threshold_at_far(genuine, impostor, far: float) -> float:
    """The lowest threshold whose false-accept rate on ``impostor`` is at most ``far`` (accept: score >= threshold).

    Lowest, so the true-accept rate is as high as that FAR allows. A FAR below one impostor in
    ``len(impostor)`` cannot be measured on these scores, so it is refused rather than guessed.
    """
    from sklearn.metrics import roc_curve

    genuine, impostor = _scores(genuine, impostor)
    if not 0.0 <= far <= 1.0:
        raise ValueError(f"far {far} is not a rate in [0, 1]")
    if far < 1.0 / len(impostor):
        raise ValueError(f"far {far} is below 1 / {len(impostor)} impostor scores: it cannot be measured; "
                         f"use at least {int(np.ceil(1.0 / far))} impostor scores")
    labels = np.concatenate([np.ones(len(genuine)), np.zeros(len(impostor))])
    fpr, _, thresholds = roc_curve(labels, np.concatenate([genuine, impostor]), drop_intermediate=False)
    # fpr grows as the thresholds fall: the last point still within the FAR has the lowest threshold
    index = int(np.flatnonzero(fpr <= far)[-1])
    if not np.isfinite(thresholds[index]):  # even the top score is a tie of too many impostors: accept above it
        return float(np.nextafter(thresholds[1], np.inf))
    return float(thresholds[index])


def accept_rates(genuine, impostor, threshold: float) -> dict:
    """True- and false-accept rates of ``score >= threshold``, e.g. a threshold from one split checked on another."""
    genuine, impostor = _scores(genuine, impostor)
    return {"threshold": float(threshold), "tar": float(np.mean(genuine >= threshold)),
            "far": float(np.mean(impostor >= threshold)), "genuine": int(len(genuine)),
            "impostor": int(len(impostor))}


def tar_at_far(genuine, impostor, far: float) -> float:
    """True-accept rate at the threshold :func:`threshold_at_far` chooses on the same scores."""
    return accept_rates(genuine, impostor, threshold_at_far(genuine, impostor, far))["tar"]


def fit_confidence(genuine, impostor, *, balanced: bool = False, C: float = 1e4) -> dict:
    """Logistic P(same | score) fitted on the scores: ``{"slope": float, "intercept": float}`` (JSON-ready).

    The probability carries the genuine:impostor ratio of the scores given; ``balanced=True``
    weighs both classes equally (a 50:50 prior). ``C`` is large because one feature in
    [-1, 1] needs a steep slope, which the default C=1 would shrink.
    """
    from sklearn.linear_model import LogisticRegression

    genuine, impostor = _scores(genuine, impostor)
    scores = np.concatenate([genuine, impostor])[:, None]
    labels = np.concatenate([np.ones(len(genuine), int), np.zeros(len(impostor), int)])
    model = LogisticRegression(C=C, class_weight="balanced" if balanced else None).fit(scores, labels)
    return {"slope": float(model.coef_[0, 0]), "intercept": float(model.intercept_[0])}


def apply_confidence(calibration: dict, scores) -> np.ndarray:
    """P(same) of each score under a :func:`fit_confidence` calibration."""
    from scipy.special import expit

    return expit(calibration["slope"] * np.asarray(scores, np.float64) + calibration["intercept"])
