"""Train the shipped feature models (`facelab train features --model cnn|autoencoder --profile quick|full`).

Training data (both models): LFW identities that appear in no pair of
``pairsDevTest.txt`` (the View 1 rule), with at least ``min_images`` images,
minus every image in the test part of the LFW >= 70 and >= 20 identification
protocols (:func:`facelab.evaluation.protocols.lfw_people_test_paths`), and at
most ``cap`` (100) images per person (George W. Bush alone has 530). The list of
identities is written beside the weights and into the model card.
"""
from __future__ import annotations

import json
import platform
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ..config import SEED, training_dir
from ..models.inputs import LFW, load_crops

PROFILES = {
    "quick": {"epochs": 1, "max_people": 60, "ae_epochs": 1, "dev_pairs": 200},
    "full": {"epochs": 28, "max_people": None, "ae_epochs": 30, "dev_pairs": None},
}


def training_files(min_images: int = 2, cap: int = 100, root=None, max_people: int | None = None,
                   seed: int = SEED) -> tuple[list[str], np.ndarray, list[str]]:
    """(paths, labels, names) of the embedding's training images under the rule above."""
    from ..data import lfw, pair_people
    from ..evaluation.protocols import lfw_people_test_paths

    base = lfw.path(root)
    banned_people = pair_people(base / "pairsDevTest.txt", root)
    banned_images = lfw_people_test_paths((70, 20), root)
    rng = np.random.RandomState(seed)
    people = []
    for name in sorted(p.name for p in (base / "lfw").iterdir() if p.is_dir()):
        if name in banned_people:
            continue
        files = [str(f) for f in sorted((base / "lfw" / name).glob("*.jpg")) if str(f) not in banned_images]
        if len(files) < min_images:
            continue
        if len(files) > cap:
            files = sorted(rng.choice(files, cap, replace=False).tolist())
        people.append((name, files))
    if max_people:
        people = sorted(people, key=lambda p: (-len(p[1]), p[0]))[:max_people]
        people.sort()
    paths = [f for _, fs in people for f in fs]
    labels = np.array([k for k, (_, fs) in enumerate(people) for _ in fs])
    return paths, labels, [n for n, _ in people]


class VerificationMonitor:
    """Keras callback factory: View 1 pairsDevTrain accuracy (best threshold) every ``every`` epochs, and a time budget."""

    @staticmethod
    def make(backbone, pairs_crops, same, every: int = 5, budget_s: float | None = None, log=print):
        import keras

        class _Monitor(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.t0 = time.time()
                self.scores = []

            def on_epoch_end(self, epoch, logs=None):
                if (epoch + 1) % every == 0:
                    thr, acc = _devtrain_verification(backbone, pairs_crops, same)
                    self.scores.append((epoch + 1, acc))
                    log(f"epoch {epoch + 1}: devtrain verification acc {acc:.4f} (thr {thr:.3f}) "
                        f"loss {logs.get('loss', 0):.3f} acc {logs.get('acc', 0):.3f} t={time.time() - self.t0:.0f}s")
                else:
                    log(f"epoch {epoch + 1}: loss {logs.get('loss', 0):.3f} acc {logs.get('acc', 0):.3f} t={time.time() - self.t0:.0f}s")
                if budget_s and time.time() - self.t0 > budget_s:
                    log(f"time budget {budget_s:.0f}s spent: stopping after epoch {epoch + 1}")
                    self.model.stop_training = True

        return _Monitor()


def _view1_crops(name: str, root=None, n: int | None = None):
    from ..data import lfw, pair_paths, read_pairs

    pairs = read_pairs(lfw.path(root) / name, root)
    if n:  # an even subset of same and different pairs (quick profile)
        half = len(pairs) // 2
        step = max(1, half // (n // 2))
        pairs = pairs[:half][::step][: n // 2] + pairs[half:][::step][: n // 2]
    a, b, same = pair_paths(pairs, root)
    return (load_crops(a, LFW), load_crops(b, LFW)), same


def _devtrain_verification(model, pair_crops, same) -> tuple[float, float]:
    """(best threshold, accuracy) of an embedding on View 1 pairsDevTrain crops: the number each training
    summary records (optimistic: many pairsDevTrain people are training identities)."""
    from ..evaluation.verification import best_threshold, cosine_scores
    from .cnn_embedding import embed

    thr, acc = best_threshold(cosine_scores(embed(model, pair_crops[0]), embed(model, pair_crops[1])), same)
    return float(thr), float(acc)


def train_features(model: str = "cnn", profile: str = "quick", out_dir: Path | None = None, loss: str = "cosface",
                   epochs: int | None = None, budget_s: float | None = 35 * 60, seed: int = SEED, root=None,
                   log=print, width: int = 16, erasing: float = 0.0, dropout: float = 0.2) -> dict:
    """Train and save ``features_<model>.keras`` (+ identities list + card). Returns a summary dict."""
    from ..config import set_seeds
    from .cnn_embedding import train_embedding

    cfg = PROFILES[profile]
    out_dir = training_dir(f"features_{model}", profile, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    set_seeds(seed)
    paths, labels, names = training_files(root=root, max_people=cfg["max_people"], seed=seed)
    log(f"training images {len(paths)}, identities {len(names)}")
    crops = load_crops(paths, LFW)
    t0 = time.time()
    summary = {"model": model, "profile": profile, "images": len(paths), "identities": len(names),
               "crop_policy": LFW.to_dict(), "seed": seed, "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}"}
    if model == "cnn":
        n_epochs = epochs or cfg["epochs"]
        (dev_a, dev_b), dev_same = _view1_crops("pairsDevTrain.txt", root, cfg["dev_pairs"])
        backbone, history = train_embedding(crops, labels, loss=loss, epochs=n_epochs, seed=seed, verbose=0,
                                            width=width, erasing=erasing, dropout=dropout,
                                            callback_factory=lambda bb: [VerificationMonitor.make(
                                                bb, (dev_a, dev_b), dev_same, every=5 if n_epochs >= 5 else 1,
                                                budget_s=budget_s, log=log)])
        path = out_dir / "features_cnn.keras"
        backbone.save(path)
        thr, acc = _devtrain_verification(backbone, (dev_a, dev_b), dev_same)
        summary.update(epochs_run=len(history["loss"]), loss=loss, width=width, erasing=erasing, dropout=dropout,
                       final_train_loss=float(history["loss"][-1]),
                       devtrain_verification_acc=float(acc), devtrain_threshold=float(thr),
                       params=int(backbone.count_params()))
    elif model == "autoencoder":
        from .autoencoder import train_autoencoder

        n_epochs = epochs or cfg["ae_epochs"]
        ae, history = train_autoencoder(crops, epochs=n_epochs, seed=seed, budget_s=budget_s, log=log)
        path = out_dir / "features_autoencoder.keras"
        ae.save(path)
        summary.update(epochs_run=len(history["loss"]), final_train_loss=float(history["loss"][-1]),
                       params=int(ae.count_params()))
    elif model == "pca":  # the eigenfaces baseline, fitted on the same crops (randomized SVD, seeded)
        from .pca import PCAFeatures

        pca = PCAFeatures(n_components=150, whiten=True, crop="none", random_state=seed).fit(crops)
        path = pca.save(out_dir / "features_pca.npz")
        summary.update(components=150, explained_variance=float(pca.pca_.explained_variance_ratio_.sum()))
    else:
        raise ValueError(f"model must be cnn, autoencoder or pca, not {model!r}")
    summary["train_seconds"] = round(time.time() - t0, 1)
    summary["weights"] = str(path)
    ident = out_dir / f"features_{model}_identities.txt"
    counts = Counter(labels.tolist())
    ident.write_text("".join(f"{n}\t{counts[k]}\n" for k, n in enumerate(names)))
    summary["identities_file"] = str(ident)
    (out_dir / f"features_{model}.history.json").write_text(json.dumps(summary, indent=2))
    log(json.dumps(summary, indent=2))
    return summary


def _shown(path: Path) -> str:
    """A path as the summary records it: relative to the working folder when inside it (no home folders in files)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def combine_features(members, out_dir: Path | None = None, root=None, log=print) -> dict:
    """Save the ensemble of trained CNN embeddings ``members`` (``.keras`` files written by ``train_features``, each
    with its identities list and training summary beside it) as one ``features_cnn.keras``; no training.

    The members must have learned from the same identities, so the ensemble keeps the View 1 rule."""
    from ..errors import BadInputError
    from .cnn_embedding import combine_embeddings, load_embedding_model

    members = [Path(m) for m in members]
    idents, runs = [], []
    for m in members:
        ident, run = m.with_name("features_cnn_identities.txt"), m.with_name("features_cnn.history.json")
        for f in (m, ident, run):
            if not f.exists():
                raise BadInputError(f, "missing: each member needs the files `facelab train features --model cnn "
                                       "--out DIR` writes (the .keras file, its identities list and training summary)")
        idents.append(ident.read_text())
        runs.append(json.loads(run.read_text()))
    if len(set(idents)) != 1:
        raise BadInputError(members[1], "trained on other identities than the first member: an ensemble must keep "
                                        "one training set, so the View 1 rule still holds")
    out_dir = training_dir("features_cnn_ensemble", "full", out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = combine_embeddings([load_embedding_model(m) for m in members])
    thr, acc = _devtrain_verification(model, *_view1_crops("pairsDevTrain.txt", root))
    path = out_dir / "features_cnn.keras"
    model.save(path)
    ident = out_dir / "features_cnn_identities.txt"
    ident.write_text(idents[0])
    first = runs[0]
    summary = {"model": "cnn", "ensemble_of": [str(m) for m in members],
               **{k: first[k] for k in ("images", "identities", "crop_policy", "seed") if k in first},
               "params": int(model.count_params()), "devtrain_verification_acc": float(acc),
               "devtrain_threshold": float(thr), "train_seconds": round(sum(r.get("train_seconds", 0) for r in runs), 1),
               "weights": _shown(path), "identities_file": _shown(ident), "members": runs}
    (out_dir / "features_cnn.history.json").write_text(json.dumps(summary, indent=2))
    log(f"ensemble of {len(members)}: pairsDevTrain verification accuracy {acc:.4f} (threshold {thr:.3f})")
    return summary
