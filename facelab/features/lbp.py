"""Local binary patterns (Ojala et al. 2002; Ahonen et al. 2006 for faces): the hand-made texture feature.

Each pixel's 8 neighbours at radius ``radius`` are compared with it, giving an
8-bit code; codes are mapped to the 59 "uniform" patterns (at most two 0/1
transitions, plus one bin for the rest), and histograms over a ``grid`` x ``grid``
tiling of the face are concatenated and normalised to sum 1 per cell. Compare
with the chi-square distance (:func:`facelab.evaluation.verification.chi2_scores`).
"""
from __future__ import annotations

import numpy as np

from .base import FaceFeatures


def _uniform_table() -> np.ndarray:
    table = np.full(256, 58, np.int64)
    k = 0
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]
        transitions = sum(bits[i] != bits[(i + 1) % 8] for i in range(8))
        if transitions <= 2:
            table[code] = k
            k += 1
    return table  # k == 58 uniform patterns → bins 0..57, non-uniform → 58


_UNIFORM = _uniform_table()


def lbp_codes(image: np.ndarray, radius: int = 1) -> np.ndarray:
    """Uniform LBP code (0..58) per interior pixel of a grey image (8 neighbours on the square of ``radius``)."""
    img = np.asarray(image, np.int16)
    r = radius
    c = img[r:-r, r:-r]
    H, W = c.shape
    offsets = [(-r, -r), (-r, 0), (-r, r), (0, r), (r, r), (r, 0), (r, -r), (0, -r)]
    code = np.zeros((H, W), np.int64)
    for bit, (dy, dx) in enumerate(offsets):
        nb = img[r + dy:r + dy + H, r + dx:r + dx + W]
        code |= (nb >= c).astype(np.int64) << bit
    return _UNIFORM[code]


def lbp_histogram(image: np.ndarray, grid: int = 8, radius: int = 1) -> np.ndarray:
    codes = lbp_codes(image, radius)
    H, W = codes.shape
    ys = np.linspace(0, H, grid + 1).astype(int)
    xs = np.linspace(0, W, grid + 1).astype(int)
    hists = []
    for i in range(grid):
        for j in range(grid):
            cell = codes[ys[i]:ys[i + 1], xs[j]:xs[j + 1]]
            h = np.bincount(cell.ravel(), minlength=59).astype(np.float32)
            hists.append(h / max(1.0, h.sum()))
    return np.concatenate(hists)


class LBPFeatures(FaceFeatures):
    """scikit-learn transformer: cropped face → concatenated uniform-LBP histograms (``grid``² x 59 numbers)."""

    def __init__(self, grid=8, radius=1, crop="lfw", size=64):
        self.grid = grid
        self.radius = radius
        self.crop = crop
        self.size = size

    @property
    def input_size(self):
        return self.size

    def fit(self, X, y=None):
        self.n_features_out_ = int(self.grid * self.grid * 59)
        return self

    def _features(self, crops):
        return np.stack([lbp_histogram(c, self.grid, self.radius) for c in crops]) if len(crops) else \
            np.zeros((0, self.n_features_out_), np.float32)
