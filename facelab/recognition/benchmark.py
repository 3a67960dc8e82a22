"""The benchmark loops the notebooks run: every identifier on a split, every verifier on View 1 pairs.

Kept here (not in the notebooks) so a script gets the same numbers:
``run_identification(train, test, methods)`` and ``run_verification(models)``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class Method:
    name: str
    make: Callable[[], object]
    baseline: bool
    about: str = ""
    extra: dict = field(default_factory=dict)


#: a short SVM grid for large or augmented training sets
SMALL_GRID = [{"C": [1, 10], "gamma": ["scale"], "kernel": ["rbf"]}, {"C": [1], "kernel": ["linear"]}]


def identification_methods(crop: str, cnn_epochs: int = 30, include=None, quick: bool = False) -> list[Method]:
    """facelab's identifiers and the baselines, for faces under crop policy ``crop`` ("lfw" or "tight")."""
    from ..features import AutoencoderFeatures, CNNEmbedding, LBPFeatures, PCAFeatures
    from .baselines import CV2FaceRecognizer, EigenfacesSVM
    from .cnn_classifier import CNNClassifier
    from .gallery import JitteredGallery
    from .svm import LINEAR_GRID, svm_identifier

    cv = 3
    cv2_crop = "full" if crop == "tight" else crop  # ORL: whole 92x112 images, as OpenCV's tutorial does
    methods = [
        Method("cnn-embedding+svm", lambda: svm_identifier(CNNEmbedding(crop=crop), cv=cv), False,
               "shipped LFW embedding (frozen) -> SVM, C/gamma/kernel by grid search"),
        Method("cnn-embedding+svm (jittered gallery)",
               lambda: JitteredGallery(svm_identifier(CNNEmbedding(crop=crop, mirror=True), grid=SMALL_GRID, cv=cv)),
               False, "the same, on mirror-averaged embeddings, the SVM fitted on each gallery photo plus 9 jittered "
                      "copies (shift, rotation, zoom, mirror); small grid (copies of a photo share CV folds)"),
        Method("cnn-classifier (fine-tuned)", lambda: CNNClassifier(init="embedding", crop=crop, epochs=cnn_epochs),
               False, "end-to-end softmax CNN, initialised from the shipped embedding"),
        Method("cnn-classifier (scratch)", lambda: CNNClassifier(init="scratch", crop=crop, epochs=cnn_epochs), False,
               "end-to-end softmax CNN from random weights, gallery images only"),
        Method("autoencoder+svm", lambda: svm_identifier(AutoencoderFeatures(crop=crop), cv=cv), False,
               "shipped autoencoder code -> SVM"),
        Method("pca+svm", lambda: svm_identifier(PCAFeatures(n_components=100, crop=crop), cv=cv), False,
               "eigenfaces fitted on the training split (64x64 crop) -> SVM"),
        Method("eigenfaces+svm (sklearn recipe)", lambda: EigenfacesSVM(), True,
               "scikit-learn's example: 150 whitened components, RBF SVC, randomized search"),
        Method("lbp+svm", lambda: svm_identifier(LBPFeatures(crop=crop), grid=[LINEAR_GRID, SMALL_GRID[0]], cv=cv),
               True, "uniform LBP 8x8 grid -> SVM (linear, or RBF at gamma='scale': the full RBF grid on 3,776-d "
                     "histograms took 15 min on LFW >= 20)"),
        Method("opencv-lbph", lambda: CV2FaceRecognizer("lbph", crop=cv2_crop), True, "cv2.face LBPH (1, 8, 8x8)"),
        Method("opencv-eigen", lambda: CV2FaceRecognizer("eigen", crop=cv2_crop), True, "cv2.face Eigenfaces"),
        Method("opencv-fisher", lambda: CV2FaceRecognizer("fisher", crop=cv2_crop), True, "cv2.face Fisherfaces"),
    ]
    if include is not None:
        methods = [m for m in methods if m.name in include]
    return methods


def run_identification(train, test, methods: list[Method], log=print) -> tuple[list[dict], dict]:
    """Fit each method on ``train`` and score it on ``test``: rows (accuracy, weighted F1, times) and predictions."""
    from sklearn.metrics import accuracy_score, f1_score

    rows, preds = [], {}
    for m in methods:
        est = m.make()
        t0 = time.perf_counter()
        est.fit(train.images, train.labels)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred = est.predict(test.images)
        pred_s = time.perf_counter() - t0
        preds[m.name] = pred
        row = {"method": m.name, "baseline": m.baseline, "accuracy": float(accuracy_score(test.labels, pred)),
               "f1_weighted": float(f1_score(test.labels, pred, average="weighted")), "fit_s": round(fit_s, 2),
               "predict_ms_per_face": round(1000 * pred_s / max(1, len(test)), 3), "about": m.about}
        svm = getattr(est, "named_steps", {}).get("svm") if hasattr(est, "named_steps") else None
        if svm is not None and hasattr(svm, "best_params_"):
            row["svm_params"] = dict(svm.best_params_)
        rows.append(row)
        if log:
            log(f"{m.name:<34} acc {row['accuracy']:.4f}  F1w {row['f1_weighted']:.4f}  fit {fit_s:.1f}s")
    return rows, preds


def view1_pairs(n_train: int | None = None, n_test: int | None = None, seed: int = 42, root=None):
    """View 1 pairs (optionally a balanced random subset of each list, for the quick profile)."""
    from ..data import lfw, read_pairs

    out = []
    for name, n in (("pairsDevTrain.txt", n_train), ("pairsDevTest.txt", n_test)):
        pairs = read_pairs(lfw.path(root) / name, root)
        if n:
            rng = np.random.RandomState(seed)
            same = [p for p in pairs if p.same]
            diff = [p for p in pairs if not p.same]
            pick = lambda xs: [xs[i] for i in sorted(rng.choice(len(xs), min(len(xs), n // 2), replace=False))]  # noqa: E731
            pairs = pick(same) + pick(diff)
        out.append(pairs)
    return out[0], out[1]


def run_verification(models: list[str], train_pairs, test_pairs, root=None, log=print) -> tuple[list[dict], dict]:
    """View 1 protocol per model: threshold on the train pairs, accuracy and AUC on the test pairs; returns rows, scores."""
    from ..data import pair_paths
    from ..features import METRIC
    from ..features.crop import load_crops
    from .commands import load_fitted_extractor
    from ..evaluation.verification import evaluate_view1, pair_scores

    a, b, _ = pair_paths(list(train_pairs) + list(test_pairs), root)
    unique = sorted({str(p) for p in a + b})
    crops = dict(zip(unique, load_crops(unique)))  # read and crop every image once for all models
    rows, scores = [], {}
    for name in models:
        ext = load_fitted_extractor(name, crop="none")
        fn = lambda paths, ext=ext: ext.transform(np.stack([crops[str(p)] for p in paths]))  # noqa: E731
        cache: dict = {}
        t0 = time.perf_counter()
        s_tr = pair_scores(fn, train_pairs, root, METRIC[name], cache)
        s_te = pair_scores(fn, test_pairs, root, METRIC[name], cache)
        secs = time.perf_counter() - t0
        r = evaluate_view1(s_tr, [p.same for p in train_pairs], s_te, [p.same for p in test_pairs])
        r.update(model=name, metric=METRIC[name], seconds=round(secs, 1))
        rows.append(r)
        scores[name] = s_te
        if log:
            log(f"{name:<12} View 1 test accuracy {r['accuracy']:.4f}  AUC {r['auc']:.4f}  threshold {r['threshold']:.4f}")
    return rows, scores
