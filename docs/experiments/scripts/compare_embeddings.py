"""Judge candidate CNN embedding files against issue 4's two accuracy targets at once, before shipping one.

For each ``.keras`` file: LFW View 1 (threshold on pairsDevTrain, accuracy and AUC on pairsDevTest, plus the
best accuracy any threshold would give on pairsDevTest, to see threshold transfer apart from separability; once
on plain and once on mirror-averaged embeddings, which cost two passes per face) and
the batch inference speed; ORL 5/5 with the jittered-gallery SVM (three jitter seeds) and a leave-one-image-out CV on the training half
(images 1-5 only: the number a choice between candidates may use). Writes one JSON file.

    FACELAB_DATA=../shared/datasets python docs/experiments/scripts/compare_embeddings.py A.keras B.keras --out runs/cmp.json

Runs from any folder (the paths are taken as given; LFW and ORL are found as everywhere in facelab, see
``facelab.config.data_home``).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
from sklearn.metrics import accuracy_score


def view1_crops() -> dict:
    """View 1 crops and labels, read once for every candidate."""
    from facelab.features.train import _view1_crops

    return {name: _view1_crops(f"pairs{name}.txt") for name in ("DevTrain", "DevTest")}


def view1(path, crops: dict, mirror: bool = False) -> dict:
    from facelab.features import CNNEmbedding
    from facelab.evaluation.verification import best_threshold, cosine_scores, evaluate_view1

    ext = CNNEmbedding(weights=str(path), crop="none", mirror=mirror).fit(None)
    scores = {name: cosine_scores(ext.transform(a), ext.transform(b)) for name, ((a, b), _) in crops.items()}
    same = {name: same for name, (_, same) in crops.items()}
    r = evaluate_view1(scores["DevTrain"], same["DevTrain"], scores["DevTest"], same["DevTest"])
    _, oracle = best_threshold(scores["DevTest"], same["DevTest"])
    return {"mirror": mirror, "devtrain_accuracy": float(r["train_accuracy"]), "threshold": float(r["threshold"]),
            "devtest_accuracy": float(r["accuracy"]), "devtest_auc": float(r["auc"]),
            "devtest_accuracy_best_threshold": float(oracle)}


def throughput(path, n: int = 2048, repeats: int = 3) -> dict:
    """Batch inference speed of one pass (faces/s, best of ``repeats``); a mirror-averaged embedding costs two."""
    from facelab.evaluation import throughput as timed
    from facelab.features.cnn_embedding import embed
    from facelab.models.embedding_net import load_embedding_model

    model = load_embedding_model(path)
    x = np.random.RandomState(0).randint(0, 256, (n, 64, 64)).astype(np.uint8)
    t = timed(lambda b: embed(model, b, batch_size=n), x, warmup=1, repeats=repeats)
    return {"faces_per_s_one_pass": t["items_per_s"], "params": int(model.count_params()), "batch": n}


def orl(path, seeds=(42, 1, 2)) -> dict:
    from facelab.data.orl import load_orl, split_orl
    from facelab.features import CNNEmbedding
    from facelab.pipeline.identification import SMALL_GRID
    from facelab.recognition.gallery import JitteredGallery
    from facelab.recognition.svm import svm_identifier

    train, test = split_orl(load_orl())
    image = np.arange(len(train)) % 5  # image number (0-4) of each training face: the leave-one-image-out folds
    out = {}
    for seed in seeds:
        def make():
            return JitteredGallery(svm_identifier(CNNEmbedding(weights=str(path), crop="tight", mirror=True),
                                                  grid=SMALL_GRID, cv=3), seed=seed)
        held_pred = np.zeros(len(train), int)
        for i in range(5):
            fit, held = image != i, image == i
            held_pred[held] = make().fit(train.images[fit], train.labels[fit]).predict(train.images[held])
        pred = make().fit(train.images, train.labels).predict(test.images)
        wrong = [f"{'/'.join(path_.split('/')[-2:])} -> {test.names[p]}"
                 for path_, p, y in zip(test.paths, pred, test.labels) if p != y]
        out[str(seed)] = {"train_half_loo_accuracy": float(accuracy_score(train.labels, held_pred)),
                          "test_accuracy": float(accuracy_score(test.labels, pred)), "test_errors": wrong}
    out["test_accuracy_mean"] = float(np.mean([v["test_accuracy"] for v in out.values()]))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights", nargs="+", help=".keras embedding files")
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--view1-only", action="store_true", help="skip ORL")
    args = p.parse_args()
    rows, crops = [], view1_crops()
    for w in args.weights:
        t0 = time.time()
        row = {"weights": w, "throughput": throughput(w), "view1": view1(w, crops),
               "view1_mirror_averaged": view1(w, crops, mirror=True)}
        if not args.view1_only:
            row["orl_jittered_gallery"] = orl(w)
        row["seconds"] = round(time.time() - t0, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
