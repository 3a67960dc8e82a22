"""SVM identifier on any facelab feature: ``Pipeline([features, StandardScaler, SVC])`` with the SVM's C and gamma searched.

The search sits inside the pipeline (``GridSearchCV`` as the last step), so the
features are computed once per fit and the SVM's hyper-parameters are chosen by
cross-validation on the training part only. The whole pipeline is itself an
estimator: an outer ``GridSearchCV`` can search the feature's parameters too
(e.g. ``features__n_components`` for eigenfaces).
"""
from __future__ import annotations

from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

DEFAULT_GRID = {"C": [0.1, 1, 10, 100, 1000], "gamma": ["scale", 1e-3, 1e-2], "kernel": ["rbf"]}
LINEAR_GRID = {"C": [0.01, 0.1, 1, 10], "kernel": ["linear"]}


def svm_search(grid: dict | list | None = None, cv: int = 3, seed: int = 42, n_jobs: int = 1) -> GridSearchCV:
    """A GridSearchCV over SVC (RBF and linear by default, class_weight balanced), scored by accuracy."""
    grid = grid if grid is not None else [DEFAULT_GRID, LINEAR_GRID]
    return GridSearchCV(SVC(class_weight="balanced", random_state=seed), grid,
                        cv=StratifiedKFold(cv, shuffle=True, random_state=seed), scoring="accuracy", n_jobs=n_jobs)


def svm_identifier(features, grid: dict | list | None = None, cv: int = 3, seed: int = 42) -> Pipeline:
    """features → standardise → SVC with a searched C/gamma/kernel; fit(X_images, y), predict, score."""
    return Pipeline([("features", features), ("scale", StandardScaler()), ("svm", svm_search(grid, cv, seed))])


def best_params(pipeline: Pipeline) -> dict:
    """The SVM hyper-parameters the inner search chose (after fit)."""
    return dict(pipeline.named_steps["svm"].best_params_)
