"""ORL / AT&T "Database of Faces": 40 people x 10 greyscale PGM images, 92x112."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..preprocess import read_image
from ._common import FaceSet, locate

NAME = "orl_att_faces"
HOW = ("The AT&T/ORL PGM release is no longer served by AT&T; copy its 'att_faces/s1..s40/*.pgm' "
       "folder into $FACELAB_DATA/orl_att_faces/ (see datasets/orl_att_faces.md). "
       "scikit-learn's fetch_olivetti_faces is a different 64x64 crop and is not a substitute.")


def path(root=None) -> Path:
    return locate(NAME, NAME, "att_faces/s1/1.pgm", HOW, root)


#: subjects whose images in the workplace copy are not ORL photographs (see datasets/orl_att_faces.md):
#: s1 and s2 are modern snapshots of two other people (busy lit backgrounds, large pose and scale changes),
#: put in place of the originals by the repository the copy came from.
NOT_ORIGINAL_IN_WORKPLACE_COPY = ("s1", "s2")


def load_orl(root=None, exclude: tuple[str, ...] = ()) -> FaceSet:
    """All 400 images as uint8 (400, 112, 92); label k is the k-th subject (s1, s2, … s40); images 1..10 per subject.

    ``exclude`` drops subjects by folder name, e.g. ``NOT_ORIGINAL_IN_WORKPLACE_COPY`` to keep only the
    original ORL photographs of the workplace copy.
    """
    base = path(root) / "att_faces"
    images, labels, paths = [], [], []
    subjects = sorted((p for p in base.iterdir() if p.is_dir() and p.name.startswith("s") and p.name not in exclude),
                      key=lambda p: int(p.name[1:]))
    for k, subject in enumerate(subjects):
        for i in range(1, 11):
            f = subject / f"{i}.pgm"
            images.append(read_image(f))
            labels.append(k)
            paths.append(str(f))
    return FaceSet(np.stack(images), np.array(labels), [s.name for s in subjects], paths)


def split_orl(faces: FaceSet, n_train: int = 5):
    """The classic protocol: images 1..n_train of each person train, the rest test. Returns (train, test)."""
    within = np.arange(len(faces)) % 10
    return faces.subset(within < n_train), faces.subset(within >= n_train)
