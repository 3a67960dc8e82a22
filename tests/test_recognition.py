"""Stage 3 (identification + verification): protocols, identifiers' contract, View 1/View 2 evaluation, the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from facelab.cli import main
from facelab.data import lfw, load_orl, read_pairs, split_orl
from facelab.features import CNNEmbedding, LBPFeatures, PCAFeatures
from facelab.recognition.baselines import CV2FaceRecognizer, EigenfacesSVM
from facelab.recognition.cnn_classifier import CNNClassifier
from facelab.evaluation.protocols import lfw_people_split, lfw_people_test_paths, sklearn_order
from facelab.recognition.svm import best_params, svm_identifier
from facelab.evaluation.verification import best_threshold, chi2_scores, cosine_scores, evaluate_folds, \
    evaluate_view1, verify_pairs_file


@pytest.fixture(scope="module")
def orl10(data_home):
    """ORL's first 10 people, classic 5/5 split."""
    tr, te = split_orl(load_orl())
    return tr.subset(tr.labels < 10), te.subset(te.labels < 10)


def _jittered():
    from facelab.recognition.gallery import JitteredGallery

    return JitteredGallery(SVC())


@parametrize_with_checks([CV2FaceRecognizer("lbph"), EigenfacesSVM(), CNNClassifier(), _jittered()])
def test_scikit_learn_estimator_checks(estimator, check):
    """scikit-learn's own checks (for estimators of face images it runs the tag checks; the contract test below
    fits and scores them on real faces)."""
    check(estimator)


def test_lfw_protocol_matches_sklearn_example():
    train, test = lfw_people_split(70)
    assert (len(train), len(test)) == (966, 322) and len(train.names) == 7
    assert set(test.paths) <= lfw_people_test_paths((70,)) and not set(train.paths) & set(test.paths)
    # fetch_lfw_people's shuffle is RandomState(42).shuffle of arange(n)
    idx = np.arange(1288)
    np.random.RandomState(42).shuffle(idx)
    assert np.array_equal(sklearn_order(1288), idx)


def test_identifiers_follow_the_estimator_contract(orl10):
    tr, te = orl10
    for est in (CV2FaceRecognizer("lbph"), EigenfacesSVM(n_components=20), CNNClassifier(epochs=1),
                svm_identifier(PCAFeatures(n_components=20, crop="tight"), cv=3)):
        twin = clone(est)
        assert twin.get_params().keys() == est.get_params().keys()
        if not hasattr(est, "steps"):
            with pytest.raises(NotFittedError):
                est.predict(te.images[:2])
    lbph = CV2FaceRecognizer("lbph")
    assert lbph.fit(tr.images, tr.labels) is lbph
    assert lbph.score(te.images, te.labels) >= 0.8
    pipe = svm_identifier(LBPFeatures(crop="tight", grid=4), cv=3)
    assert pipe.fit(tr.images, tr.labels) is pipe and pipe.score(te.images, te.labels) >= 0.8
    assert "C" in best_params(pipe)


def test_gridsearch_over_a_feature_parameter(orl10):
    tr, _ = orl10
    search = GridSearchCV(svm_identifier(PCAFeatures(crop="tight"), grid={"C": [1, 10], "kernel": ["linear"]}, cv=2),
                          {"features__n_components": [5, 15]}, cv=2).fit(tr.images, tr.labels)
    assert search.best_params_["features__n_components"] in (5, 15)


def test_cnn_classifier_trains_and_predicts_known_labels(orl10):
    tr, te = orl10
    clf = CNNClassifier(crop="tight", epochs=1, batch_size=16).fit(tr.images, tr.labels + 100)
    pred = clf.predict(te.images)
    assert pred.shape == (len(te),) and set(pred) <= set(range(100, 110))
    assert clf.predict_proba(te.images[:3]).shape == (3, 10)


def test_threshold_and_scores():
    t, acc = best_threshold(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    assert acc == 1.0 and 0.2 < t < 0.8
    t, acc = best_threshold(np.array([0.9, 0.1, 0.2, 0.8]), np.array([0, 0, 1, 1]))
    assert acc == 0.75 and 0.1 < t < 0.2
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert np.allclose(cosine_scores(a, a), 1) and np.allclose(chi2_scores(a, a), 0)
    assert chi2_scores(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))[0] == pytest.approx(-2.0)
    r = evaluate_view1([0.1, 0.9], [0, 1], [0.3, 0.95, 0.2, 0.05], [0, 1, 1, 0])
    assert r["accuracy"] == 0.75 and r["threshold"] == pytest.approx(0.5) and r["train_accuracy"] == 1.0


def test_view2_threshold_comes_from_the_other_folds():
    # fold 0's own best threshold would be 0.5; folds 1 and 2 push the shared threshold to ~0.85
    scores = np.array([0.4, 0.6, 0.8, 0.9, 0.8, 0.9, 0.8, 0.9, 0.8, 0.9, 0.8, 0.9])
    same = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    folds = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    r = evaluate_folds(scores, same, folds)
    assert r["folds"] == 3 and r["fold_accuracies"][1] == 1.0 and r["fold_accuracies"][0] == 0.75
    assert r["accuracy_mean"] == pytest.approx(np.mean([0.75, 1.0, 1.0]))


def _write_view2(path, folds=3, per_kind=4):
    """A small pairs.txt in the official View 2 layout from real LFW names and image numbers."""
    dev = read_pairs(lfw.path() / "pairsDevTest.txt")
    same = [p for p in dev if p.same][: folds * per_kind]
    diff = [p for p in dev if not p.same][: folds * per_kind]
    lines = [f"{folds}\t{per_kind}"]
    for f in range(folds):
        lines += [f"{p.name1}\t{p.number1}\t{p.number2}" for p in same[f * per_kind:(f + 1) * per_kind]]
        lines += [f"{p.name1}\t{p.number1}\t{p.name2}\t{p.number2}" for p in diff[f * per_kind:(f + 1) * per_kind]]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_view2_file_evaluation(tmp_path, data_home):
    pairs = _write_view2(tmp_path / "pairs.txt")
    parsed = read_pairs(pairs)
    assert len(parsed) == 24 and {p.fold for p in parsed} == {0, 1, 2}
    lbp = LBPFeatures().fit(None)
    r = verify_pairs_file(lambda paths: lbp.transform(paths), pairs, metric="chi2")
    assert r["folds"] == 3 and r["pairs"] == 24 and len(r["fold_accuracies"]) == 3
    assert 0 <= r["accuracy_mean"] <= 1 and 0 <= r["auc"] <= 1 and r["protocol"].startswith("view2")


def test_cli_eval_verification_json(tmp_path, capsys, data_home):
    pairs = _write_view2(tmp_path / "pairs.txt", folds=2, per_kind=3)
    images = lfw.path() / "lfw"  # the images folder itself, as a user would pass it
    assert main(["eval", "verification", "--pairs", str(pairs), "--lfw", str(images), "--model", "cnn", "lbp",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in out["results"]] == ["cnn", "lbp"]
    for r in out["results"]:
        assert r["folds"] == 2 and {"accuracy_mean", "accuracy_std", "auc", "threshold_mean"} <= r.keys()


def test_cli_embed_crop_json_and_npy(tmp_path, capsys, data_home):
    files = [str(lfw.image_path("Gerhard_Schroeder", 1)), str(lfw.image_path("Donald_Rumsfeld", 2))]
    assert main(["embed", "--crop", "--json", *files]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dim"] == CNNEmbedding().fit(None).n_features_out_ and [i["path"] for i in out["items"]] == files
    assert all(abs(np.linalg.norm(i["embedding"]) - 1) < 1e-3 for i in out["items"])
    npy = tmp_path / "e.npy"
    assert main(["embed", "--crop", "--model", "pca", "--out", str(npy), *files]) == 0
    assert np.load(npy).shape == (2, 150)


def test_cli_embed_detects_faces(capsys, data_home):
    assert main(["embed", "--json", "--detector", "haar", str(lfw.image_path("Gerhard_Schroeder", 1))]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["faces"] >= 1 and len(out["items"][0]["box"]) == 4


def test_cli_bad_input_names_the_file(tmp_path, capsys, data_home):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    good = str(lfw.image_path("Gerhard_Schroeder", 1))
    for bad in (empty, text, tmp_path / "missing.jpg"):
        assert main(["embed", "--crop", "--json", str(bad), good]) == 1  # reported per file; the good one still runs
        out = json.loads(capsys.readouterr().out)
        assert [e["path"] for e in out["errors"]] == [str(bad)] and str(bad) in out["errors"][0]["error"]
        assert [i["path"] for i in out["items"]] == [good]
    bad_pairs = tmp_path / "pairs.txt"
    bad_pairs.write_text("1\nSomeone 1\n")
    assert main(["eval", "verification", "--pairs", str(bad_pairs), "--lfw", str(lfw.path() / "lfw")]) == 2
    assert str(bad_pairs) in capsys.readouterr().err


def test_every_command_that_detects_uses_one_detector_and_one_numbering(capsys, data_home):
    """detect, embed and expression without --crop: the registry's default detector, the same boxes, faces
    numbered from 1 per image in the detector's order."""
    from facelab.detection import DETECTORS
    from facelab.errors import FacelabError

    photo = str(data_home / "cmu_mit_frontal_faces" / "test_scenes" / "test" / "Argentina.gif")
    boxes = {}
    for command in ("detect", "embed", "expression", "emotion"):
        assert main([command, "--json", photo]) == 0
        out = json.loads(capsys.readouterr().out)
        faces = out["items"] if command == "embed" else out[0]["faces"]
        if command == "embed":
            assert out["detector"] == DETECTORS.default
        assert [f["face"] for f in faces] == list(range(1, len(faces) + 1)) and len(faces) >= 2
        boxes[command] = [f["box"] for f in faces]
    assert boxes["detect"] == boxes["embed"] == boxes["expression"] == boxes["emotion"]
    with pytest.raises(FacelabError, match="unknown detector 'nope'; known: cnn, rcnn"):
        DETECTORS["nope"]


def test_jittered_gallery_fits_on_copies_and_predicts_known_labels(orl10):
    from facelab.recognition.gallery import JitteredGallery, jitter_images

    tr, te = orl10
    images, source = jitter_images(tr.images[:3], copies=4, seed=0)
    assert len(images) == 15 and list(source) == [0] * 5 + [1] * 5 + [2] * 5
    assert np.array_equal(images[0], tr.images[0]) and not np.array_equal(images[1], tr.images[0])
    again, _ = jitter_images(tr.images[:3], copies=4, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(images, again))  # seeded
    clf = JitteredGallery(svm_identifier(PCAFeatures(n_components=20, crop="tight"), cv=2), copies=2)
    with pytest.raises(NotFittedError):
        clf.predict(te.images[:2])
    assert clone(clf).get_params().keys() == clf.get_params().keys()
    assert clf.fit(tr.images, tr.labels + 100) is clf
    assert len(clf.estimator_.named_steps["features"].transform(tr.images[:1])) == 1
    assert set(clf.predict(te.images)) <= set(range(100, 110)) and clf.score(te.images, te.labels + 100) >= 0.7
