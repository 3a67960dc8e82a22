"""Identification composed from the stages: the identifier registry, and the benchmark loops the notebooks run
(every identifier on a split, every verifier on View 1 pairs).

Kept here (not in the notebooks) so a script gets the same numbers:
``run_identification(train, test, methods)`` and ``run_verification(models)``.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..features import EMBEDDERS, metric_of
from ..models.registry import ModelEntry, Registry
from ..recognition.svm import LINEAR_GRID


@dataclass
class Method:
    name: str
    make: Callable[[], object]
    baseline: bool
    about: str = ""
    extra: dict = field(default_factory=dict)


#: a short SVM grid for large or augmented training sets
SMALL_GRID = [{"C": [1, 10], "gamma": ["scale"], "kernel": ["rbf"]}, {"C": [1], "kernel": ["linear"]}]


def _embedding_svm(features: str, mirror=False, jitter=False, grid=None, **params):
    def make(crop, cnn_epochs=30):
        from ..recognition.gallery import JitteredGallery
        from ..recognition.svm import svm_identifier

        extractor = EMBEDDERS.create(features, crop=crop, ready=False, **({"mirror": True} if mirror else {}), **params)
        est = svm_identifier(extractor, grid=grid, cv=3)
        return JitteredGallery(est) if jitter else est

    return make


def _cnn_classifier(init):
    def make(crop, cnn_epochs=30):
        from ..recognition.cnn_classifier import CNNClassifier

        return CNNClassifier(init=init, crop=crop, epochs=cnn_epochs)

    return make


def _eigenfaces_svm(crop, cnn_epochs=30):
    from ..recognition.baselines import EigenfacesSVM

    return EigenfacesSVM()


def _opencv(kind):
    def make(crop, cnn_epochs=30):
        from ..recognition.baselines import CV2FaceRecognizer

        return CV2FaceRecognizer(kind, crop="full" if crop == "tight" else crop)  # ORL: whole 92x112 images, as OpenCV's tutorial does

    return make



#: every identifier, facelab's and the baselines': ``IDENTIFIERS.create(name, crop="lfw"|"tight", cnn_epochs=30)``
#: gives an unfitted scikit-learn classifier of face images. Most are compositions (an embedder from
#: :data:`facelab.features.EMBEDDERS` in front of a classifier from :mod:`facelab.recognition`), which is why this
#: registry lives in the layer that composes stages.
IDENTIFIERS = Registry("identifier", [
    ModelEntry("cnn-embedding+svm", _embedding_svm("cnn"), "shipped LFW embedding (frozen) -> SVM, C/gamma/kernel by "
               "grid search", extra={"features": "cnn"}),
    ModelEntry("cnn-embedding+svm (jittered gallery)", _embedding_svm("cnn", mirror=True, jitter=True, grid=SMALL_GRID),
               "the same, on mirror-averaged embeddings, the SVM fitted on each gallery photo plus 9 jittered copies "
               "(shift, rotation, zoom, mirror); small grid (copies of a photo share CV folds)", extra={"features": "cnn"}),
    ModelEntry("cnn-classifier (fine-tuned)", _cnn_classifier("embedding"), "end-to-end softmax CNN, initialised from "
               "the shipped embedding"),
    ModelEntry("cnn-classifier (scratch)", _cnn_classifier("scratch"), "end-to-end softmax CNN from random weights, "
               "gallery images only"),
    ModelEntry("autoencoder+svm", _embedding_svm("autoencoder"), "shipped autoencoder code -> SVM",
               extra={"features": "autoencoder"}),
    ModelEntry("pca+svm", _embedding_svm("pca", n_components=100), "eigenfaces fitted on the training split (64x64 "
               "crop) -> SVM", extra={"features": "pca"}),
    ModelEntry("eigenfaces+svm (sklearn recipe)", _eigenfaces_svm, "scikit-learn's example: 150 whitened components, "
               "RBF SVC, randomized search", baseline=True),
    ModelEntry("lbp+svm", _embedding_svm("lbp", grid=[LINEAR_GRID, SMALL_GRID[0]]), "uniform LBP 8x8 grid -> SVM (linear, or RBF at "
               "gamma='scale': the full RBF grid on 3,776-d histograms took 15 min on LFW >= 20)", baseline=True,
               extra={"features": "lbp"}),
    ModelEntry("opencv-lbph", _opencv("lbph"), "cv2.face LBPH (1, 8, 8x8)", baseline=True),
    ModelEntry("opencv-eigen", _opencv("eigen"), "cv2.face Eigenfaces", baseline=True),
    ModelEntry("opencv-fisher", _opencv("fisher"), "cv2.face Fisherfaces", baseline=True),
], default="cnn-embedding+svm")


def identification_methods(crop: str, cnn_epochs: int = 30, include=None, quick: bool = False) -> list[Method]:
    """Every registered identifier (or those in ``include``) as a :class:`Method` for faces under crop policy
    ``crop`` ("lfw" or "tight")."""
    return [Method(e.name, functools.partial(e.factory, crop, cnn_epochs), e.baseline, e.description)
            for e in IDENTIFIERS.values() if include is None or e.name in include]


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
    from ..evaluation.verification import evaluate_view1, pair_scores
    from ..models.inputs import CropPolicy, load_crops, policy_for

    a, b, _ = pair_paths(list(train_pairs) + list(test_pairs), root)
    unique = sorted({str(p) for p in a + b})
    by_input: dict = {}  # read and crop every image once per input (crop policy, size) the models take
    rows, scores = [], {}
    for name in models:
        spec = EMBEDDERS[name].inputs
        base = policy_for(spec.crop)
        policy = CropPolicy(base.fraction, base.y_offset, spec.size or base.size)
        if policy not in by_input:
            by_input[policy] = dict(zip(unique, load_crops(unique, policy)))
        crops = by_input[policy]
        ext = EMBEDDERS.create(name, crop="none")
        fn = lambda paths, ext=ext, crops=crops: ext.transform(np.stack([crops[str(p)] for p in paths]))  # noqa: E731
        cache: dict = {}
        t0 = time.perf_counter()
        s_tr = pair_scores(fn, train_pairs, root, metric_of(name), cache)
        s_te = pair_scores(fn, test_pairs, root, metric_of(name), cache)
        secs = time.perf_counter() - t0
        r = evaluate_view1(s_tr, [p.same for p in train_pairs], s_te, [p.same for p in test_pairs])
        r.update(model=name, metric=metric_of(name), seconds=round(secs, 1))
        rows.append(r)
        scores[name] = s_te
        if log:
            log(f"{name:<12} View 1 test accuracy {r['accuracy']:.4f}  AUC {r['auc']:.4f}  threshold {r['threshold']:.4f}")
    return rows, scores
