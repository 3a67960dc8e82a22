"""The identification and verification protocols, so every notebook, test and command splits the same way.

1. ORL 5/5: images 1-5 of each person train, 6-10 test (:func:`facelab.data.split_orl`).
2. LFW people with >= 70 (or >= 20) images, as scikit-learn's eigenfaces example:
   ``fetch_lfw_people`` shuffles the faces with ``RandomState(42)``, then
   ``train_test_split(test_size=0.25, random_state=42)`` (not stratified).
   :func:`lfw_people_split` reproduces both steps on facelab's loader.
3. LFW verification on View 1 (threshold on ``pairsDevTrain.txt``, measured on
   ``pairsDevTest.txt``) and View 2 (10 folds), in :mod:`facelab.evaluation.verification`.
"""
from __future__ import annotations

import numpy as np

from ..data import FaceSet, load_lfw_people, load_orl, split_orl
from ..data import lfw as _lfw

TEST_SIZE = 0.25
RANDOM_STATE = 42


def sklearn_order(n: int) -> np.ndarray:
    """The permutation ``fetch_lfw_people`` applies after loading (``RandomState(42).shuffle``)."""
    idx = np.arange(n)
    np.random.RandomState(42).shuffle(idx)
    return idx


def lfw_people_split(min_faces_per_person: int = 70, root=None, faces: FaceSet | None = None,
                     progress: bool = False) -> tuple[FaceSet, FaceSet]:
    """(train, test) of LFW people with at least ``min_faces_per_person`` images, exactly as sklearn's example splits."""
    from sklearn.model_selection import train_test_split

    if faces is None:
        faces = load_lfw_people(min_faces_per_person, root=root, progress=progress)
    shuffled = faces.subset(sklearn_order(len(faces)))
    tr, te = train_test_split(np.arange(len(shuffled)), test_size=TEST_SIZE, random_state=RANDOM_STATE)
    return shuffled.subset(tr), shuffled.subset(te)


def lfw_people_test_paths(min_faces=(70, 20), root=None) -> set[str]:
    """Image paths in the test part of the LFW >= 70 and >= 20 protocols: never used to train a feature."""
    out: set[str] = set()
    for m in min_faces:
        names = sorted(n for n, c in _lfw.people_counts(root).items() if c >= m)
        files = [str(f) for n in names for f in sorted((_lfw.path(root) / "lfw" / n).glob("*.jpg"))]
        order = sklearn_order(len(files))
        from sklearn.model_selection import train_test_split

        _, te = train_test_split(np.arange(len(files)), test_size=TEST_SIZE, random_state=RANDOM_STATE)
        out.update(files[i] for i in order[te])
    return out


def orl_split(root=None) -> tuple[FaceSet, FaceSet]:
    return split_orl(load_orl(root))
