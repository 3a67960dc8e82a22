"""Stage 2 (features): crop policy, the estimator contract, LBP/PCA maths, shipped weights on real LFW faces."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_get_params_invariance, check_no_attributes_set_in_init, \
    check_parameters_default_constructible, parametrize_with_checks

from facelab.data import load_orl, lfw
from facelab.features import EMBEDDERS, LFW, TIGHT, AutoencoderFeatures, CNNEmbedding, LBPFeatures, PCAFeatures
from facelab.models.inputs import as_crops, load_crops

#: every embedder's estimator class, from the registry (unfitted: nothing loads)
ESTIMATORS = {name: type(EMBEDDERS.create(name, ready=False)) for name in EMBEDDERS}
from facelab.features.lbp import _UNIFORM, lbp_codes, lbp_histogram


@pytest.fixture(scope="module")
def orl(data_home):
    return load_orl()


@pytest.fixture(scope="module")
def two_people(data_home):
    """10 images each of two LFW people from pairsDevTest.txt: identities the shipped models never trained on."""
    paths, labels = [], []
    for k, name in enumerate(["Donald_Rumsfeld", "Gerhard_Schroeder"]):
        files = sorted((lfw.path() / "lfw" / name).glob("*.jpg"))[:10]
        paths += [str(f) for f in files]
        labels += [k] * len(files)
    return paths, np.array(labels)


def test_crop_policy_shapes_and_box():
    img = np.zeros((250, 250), np.uint8)
    img[100:150, 100:150] = 255
    crop = LFW.apply(img)
    assert crop.shape == (64, 64) and crop.dtype == np.uint8
    x, y, w, h = LFW.box(250, 250)
    assert w == h == pytest.approx(0.45 * 250) and x == pytest.approx((250 - w) / 2) and y > x  # shifted down
    orl_like = np.full((112, 92, 3), 7, np.uint8)
    assert TIGHT.apply(orl_like).shape == (64, 64)
    with pytest.raises(ValueError):
        as_crops(np.zeros((3, 50, 50), np.uint8), "none", 64)


@parametrize_with_checks([cls() for cls in ESTIMATORS.values()])
def test_scikit_learn_estimator_checks(estimator, check):
    """scikit-learn's own checks; for estimators of face images (input tag two_d_array False) it runs only the
    tag checks, so the contract checks below are called by hand as well."""
    check(estimator)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimator_contract(name):
    cls = ESTIMATORS[name]
    check_parameters_default_constructible(name, cls())
    check_no_attributes_set_in_init(name, cls())
    check_get_params_invariance(name, cls())
    est = cls(crop="tight")
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est
    # no work in __init__: a missing weights file only fails at fit
    if "weights" in est.get_params():
        lazy = cls(weights="/nonexistent/model.keras")
        with pytest.raises(Exception, match="nonexistent"):
            lazy.fit(None)
    if name != "lbp":  # LBP has nothing to learn, but still needs fit before transform
        with pytest.raises(NotFittedError):
            cls().transform(np.zeros((1, 64, 64), np.uint8))


def test_lbp_codes_and_histograms():
    assert _UNIFORM.max() == 58 and len(set(_UNIFORM[_UNIFORM < 58])) == 58
    flat = np.full((20, 20), 100, np.uint8)
    codes = lbp_codes(flat)
    assert codes.shape == (18, 18) and len(np.unique(codes)) == 1  # all neighbours >= centre: one uniform code
    rng = np.random.RandomState(0)
    h = lbp_histogram(rng.randint(0, 255, (64, 64)).astype(np.uint8), grid=4)
    assert h.shape == (4 * 4 * 59,) and np.allclose(h.reshape(16, 59).sum(1), 1)
    feats = LBPFeatures(crop="none", grid=4).fit(None).transform(rng.randint(0, 255, (3, 64, 64)).astype(np.uint8))
    assert feats.shape == (3, 944)


def test_pca_fit_returns_self_deterministic_and_roundtrip(orl, tmp_path):
    est = PCAFeatures(n_components=20, crop="tight")
    assert est.fit(orl.images[:100]) is est
    z1 = est.transform(orl.images[100:110])
    z2 = PCAFeatures(n_components=20, crop="tight").fit(orl.images[:100]).transform(orl.images[100:110])
    assert z1.shape == (10, 20) and np.allclose(z1, z2, atol=1e-4)
    assert est.eigenfaces_.shape == (20, 64, 64)
    est.save(tmp_path / "p.npz")
    again = PCAFeatures.load(tmp_path / "p.npz")
    assert again.crop == "tight" and np.allclose(again.transform(orl.images[100:110]), z1, atol=1e-4)


def test_shipped_cnn_embedding_separates_unseen_people(two_people):
    paths, labels = two_people
    cnn = CNNEmbedding().fit(None)
    e = cnn.transform(paths)
    assert e.shape == (len(paths), cnn.n_features_out_) and cnn.n_features_out_ >= 128 and np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-4)
    crops = load_crops(paths, LFW)
    assert np.allclose(CNNEmbedding(crop="none").fit(None).transform(crops), e, atol=1e-5)  # same path, deterministic
    sim = e @ e.T
    same = labels[:, None] == labels[None, :]
    off = ~np.eye(len(labels), dtype=bool)
    assert sim[same & off].mean() > sim[~same].mean() + 0.1


def test_shipped_autoencoder_reconstructs(two_people):
    paths, _ = two_people
    ae = AutoencoderFeatures().fit(None)
    crops = load_crops(paths, LFW)
    codes = ae.transform(paths)
    rec = ae.reconstruct(paths)
    assert codes.shape == (len(paths), 128) and rec.shape == crops.shape and rec.dtype == np.uint8
    err = np.mean((rec.astype(float) - crops) ** 2)
    mean_face = np.mean((crops.mean(0, keepdims=True) - crops.astype(float)) ** 2)
    assert err < 0.5 * mean_face


def test_training_seed_gives_same_start():
    from facelab.config import set_seeds
    from facelab.features.cnn_embedding import build_embedding_net

    set_seeds(3)
    a = build_embedding_net().get_weights()
    set_seeds(3)
    b = build_embedding_net().get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_training_files_respect_view1_and_protocol_tests(data_home):
    from facelab.data import pair_people
    from facelab.features.train import training_files
    from facelab.evaluation.protocols import lfw_people_test_paths

    paths, labels, names = training_files()
    banned = pair_people(lfw.path() / "pairsDevTest.txt")
    assert not set(names) & banned
    assert not set(paths) & lfw_people_test_paths()
    assert len(names) == labels.max() + 1 and np.bincount(labels).min() >= 2 and np.bincount(labels).max() <= 100
    from facelab.config import WEIGHTS_DIR

    listed = [ln.split("\t")[0] for ln in (WEIGHTS_DIR / "features_cnn_identities.txt").read_text().splitlines()]
    assert not set(listed) & banned and len(listed) > 500


def test_erasing_augmentation_blanks_part_of_a_face_only_when_asked():
    from facelab.features.cnn_embedding import augmentation

    faces = np.full((16, 64, 64, 1), 128.0, np.float32)
    plain = np.asarray(augmentation(seed=1)(faces, training=True))
    erased = np.asarray(augmentation(seed=1, erasing=1.0)(faces, training=True))
    assert "random_erasing" not in [la.name for la in augmentation(seed=1).layers]
    changed = np.mean(np.abs(erased - plain) > 1e-3, axis=(1, 2, 3))
    assert changed.max() > 0.005 and changed.max() < 0.9  # a patch, not the whole face


def test_combined_embedding_cosine_is_the_mean_of_its_members():
    from facelab.config import set_seeds
    from facelab.features.cnn_embedding import build_embedding_net, combine_embeddings, embed, pre_embedding_model

    set_seeds(0)
    a, b = build_embedding_net(embed_dim=8, width=4), build_embedding_net(embed_dim=8, width=6)
    faces = np.random.RandomState(0).randint(0, 256, (6, 64, 64)).astype(np.uint8)
    ea, eb = embed(a, faces), embed(b, faces)
    both = combine_embeddings([a, b])
    e = embed(both, faces)
    assert e.shape == (6, 16) and np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert np.allclose(e @ e.T, (ea @ ea.T + eb @ eb.T) / 2, atol=1e-4)
    assert pre_embedding_model(both).output_shape == (None, 16) and pre_embedding_model(a).output_shape == (None, 8)
    with pytest.raises(ValueError, match="two or more"):
        combine_embeddings([a])


def test_combine_refuses_members_trained_on_other_identities(tmp_path):
    from facelab.errors import BadInputError
    from facelab.features.cnn_embedding import build_embedding_net
    from facelab.features.train import combine_features

    members = []
    for k, names in enumerate(["A\t2\nB\t3\n", "A\t2\nC\t3\n"]):
        d = tmp_path / f"m{k}"
        d.mkdir()
        build_embedding_net(embed_dim=8, width=4).save(d / "features_cnn.keras")
        (d / "features_cnn_identities.txt").write_text(names)
        (d / "features_cnn.history.json").write_text("{}")
        members.append(d / "features_cnn.keras")
    with pytest.raises(BadInputError, match="other identities"):
        combine_features(members, out_dir=tmp_path / "out")
    (members[1].parent / "features_cnn.history.json").unlink()
    with pytest.raises(BadInputError, match="features_cnn.history.json"):
        combine_features(members, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_the_dlib_resnet_peer_tells_two_unseen_people_apart(two_people):
    """The face_recognition library's embedding (a peer baseline) through the registry, on LFW crops: unit
    128-d vectors that rank same-person pairs above different-person pairs (AUC); without the library installed
    the registry's one-line error is the skip reason."""
    from sklearn.metrics import roc_auc_score

    from facelab.errors import FacelabError

    try:
        ext = EMBEDDERS.create("dlib-resnet")
    except FacelabError as exc:
        pytest.skip(str(exc))
    paths, labels = two_people
    v = ext.transform(paths)
    assert v.shape == (len(paths), 128) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    sim = v @ v.T
    iu = np.triu_indices(len(paths), 1)
    same = (labels[:, None] == labels[None, :])[iu]
    assert roc_auc_score(same, sim[iu]) > 0.95
