"""Baselines people already use, behind the same estimator interface as facelab's models.

* :class:`EigenfacesSVM`: scikit-learn's "Faces recognition example using eigenfaces
  and SVMs" as published: LFW's central region (rows 70-195, columns 78-172, as
  ``fetch_lfw_people`` slices) shrunk by 0.4 to 50x37, PCA with 150 whitened
  components (randomized SVD), RBF SVC with ``class_weight="balanced"`` and C, gamma
  drawn by ``RandomizedSearchCV`` (loguniform 1e3..1e5 and 1e-4..1e-1, 10 draws).
* :class:`CV2FaceRecognizer`: OpenCV contrib's ``cv2.face`` LBPH, Eigen and Fisher recognizers.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..models.inputs import as_crops
from ..preprocess import read_image, resize, to_mode

#: scikit-learn's fetch_lfw_people default slice_ (rows, columns) of the 250x250 photo
SKLEARN_SLICE = (slice(70, 195), slice(78, 172))


def sklearn_lfw_crop(images, resize_factor: float = 0.4, slice_=SKLEARN_SLICE) -> np.ndarray:
    """What ``fetch_lfw_people(resize=0.4)`` hands the eigenfaces example: (N, 50, 37) grey."""
    out = []
    for im in images:
        im = read_image(im) if isinstance(im, str) else to_mode(np.asarray(im), "grey")
        if im.shape[:2] != (250, 250):  # not an LFW photo: use the whole image, scaled as sklearn would
            crop = im
        else:
            crop = im[slice_]
        h, w = crop.shape[:2]
        out.append(resize(crop, (int(w * resize_factor), int(h * resize_factor))))
    return np.stack(out)


def _full(images, size) -> np.ndarray:
    """Whole images (grey), resized to ``size`` ((w, h) or side) when given."""
    out = []
    for im in images:
        im = read_image(im) if isinstance(im, str) else to_mode(np.asarray(im), "grey")
        out.append(resize(im, size) if size is not None else im)
    return np.stack(out)


class EigenfacesSVM(ClassifierMixin, BaseEstimator):
    """scikit-learn's eigenfaces + SVM recipe as one classifier (inputs: face images)."""

    def __init__(self, n_components=150, resize_factor=0.4, crop="sklearn", n_iter=10, random_state=42):
        self.n_components = n_components
        self.resize_factor = resize_factor
        self.crop = crop
        self.n_iter = n_iter
        self.random_state = random_state

    def _prep(self, X):
        if self.crop == "sklearn":
            x = sklearn_lfw_crop(X, self.resize_factor)
        else:
            x = as_crops(X, self.crop, 64)
        return x.reshape(len(x), -1).astype(np.float32) / 255.0

    def fit(self, X, y):
        from scipy.stats import loguniform
        from sklearn.decomposition import PCA
        from sklearn.model_selection import RandomizedSearchCV
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        x = self._prep(X)
        self.classes_ = np.unique(y)
        # the example standardises, then PCA-whitens, then searches the RBF SVM
        self.scaler_ = StandardScaler().fit(x)
        x = self.scaler_.transform(x)
        self.pca_ = PCA(n_components=min(self.n_components, *x.shape), svd_solver="randomized", whiten=True,
                        random_state=self.random_state).fit(x)
        z = self.pca_.transform(x)
        grid = {"C": loguniform(1e3, 1e5), "gamma": loguniform(1e-4, 1e-1)}
        self.search_ = RandomizedSearchCV(SVC(kernel="rbf", class_weight="balanced"), grid, n_iter=self.n_iter,
                                          random_state=self.random_state).fit(z, y)
        self.svm_ = self.search_.best_estimator_
        return self

    def decision_function(self, X):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return self.svm_.decision_function(self.pca_.transform(self.scaler_.transform(self._prep(X))))

    def predict(self, X):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return self.svm_.predict(self.pca_.transform(self.scaler_.transform(self._prep(X))))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags


class CV2FaceRecognizer(ClassifierMixin, BaseEstimator):
    """``cv2.face`` LBPH / Eigen / Fisher recognizer: nearest neighbour in its own feature space.

    ``crop="full"`` feeds whole images (resized to ``size`` when given, (w, h) or side);
    ``"lfw"`` / ``"tight"`` apply facelab's crop policy (64x64).
    """

    def __init__(self, kind="lbph", crop="full", size=None, radius=1, neighbors=8, grid=8, n_components=0):
        self.kind = kind
        self.crop = crop
        self.size = size
        self.radius = radius
        self.neighbors = neighbors
        self.grid = grid
        self.n_components = n_components

    def _prep(self, X):
        return _full(X, self.size) if self.crop == "full" else as_crops(X, self.crop, 64)

    def _make(self):
        import cv2

        if not hasattr(cv2, "face"):
            from ..errors import FacelabError

            raise FacelabError("cv2.face is missing: install opencv-contrib-python(-headless)")
        if self.kind == "lbph":
            return cv2.face.LBPHFaceRecognizer_create(self.radius, self.neighbors, self.grid, self.grid)
        if self.kind == "eigen":
            return cv2.face.EigenFaceRecognizer_create(self.n_components)
        if self.kind == "fisher":
            return cv2.face.FisherFaceRecognizer_create(self.n_components)
        raise ValueError(f"kind must be lbph, eigen or fisher, not {self.kind!r}")

    def fit(self, X, y):
        self.classes_, yi = np.unique(np.asarray(y), return_inverse=True)
        self.recognizer_ = self._make()
        self.recognizer_.train(list(self._prep(X)), yi.astype(np.int32))
        return self

    def predict_with_distance(self, X):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        out = [self.recognizer_.predict(im) for im in self._prep(X)]
        return self.classes_[np.array([o[0] for o in out])], np.array([o[1] for o in out])

    def predict(self, X):
        return self.predict_with_distance(X)[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
