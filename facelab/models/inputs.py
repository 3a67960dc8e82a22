"""The crop policies that turn a given image into a model's input, shared by training, evaluation, the pipeline and
the CLI (a registry entry's ``InputSpec.crop`` names one).

LFW's 250x250 photos hold the face roughly centred and a little low, covering
about 45 % of the frame (scikit-learn's ``fetch_lfw_people`` keeps rows 70-195,
columns 78-172). facelab's policy for such inputs: the square of side
``fraction`` x the shorter side, centred horizontally and shifted down by
``y_offset`` x the height, resized to ``size`` x ``size`` greyscale. Tight crops
(ORL's 92x112, FER2013's 48x48, a detector's box) use ``TIGHT``: the central square.
Networks take the crops as float32 0..255 and standardise each image themselves
(a layer inside the saved model), so callers never normalise by hand.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..preprocess import crop_face, read_image, to_mode


@dataclass(frozen=True)
class CropPolicy:
    fraction: float = 0.45
    y_offset: float = 0.03
    size: int = 64

    def box(self, height: int, width: int) -> tuple[float, float, float, float]:
        s = self.fraction * min(height, width)
        return ((width - s) / 2, (height - s) / 2 + self.y_offset * height, s, s)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """One uint8 image (grey or BGR) → uint8 (size, size) grey crop."""
        grey = to_mode(np.asarray(image), "grey")
        return crop_face(grey, self.box(*grey.shape[:2]), size=self.size)

    def apply_many(self, images) -> np.ndarray:
        return np.stack([self.apply(im) for im in images]) if len(images) else np.zeros((0, self.size, self.size), np.uint8)

    def to_dict(self) -> dict:
        return asdict(self)


#: LFW-style 250x250 photos (the policy every shipped feature model was trained with)
LFW = CropPolicy(0.45, 0.03, 64)
#: tight face crops (ORL, FER2013, detector boxes): the central square
TIGHT = CropPolicy(1.0, 0.0, 64)


def policy_for(name: str | CropPolicy | None) -> CropPolicy:
    if isinstance(name, CropPolicy):
        return name
    if name in (None, "lfw"):
        return LFW
    if name == "tight":
        return TIGHT
    raise ValueError(f"unknown crop policy {name!r}: use 'lfw' or 'tight'")


def to_network_input(crops: np.ndarray) -> np.ndarray:
    """uint8 (N, S, S) crops → float32 (N, S, S, 1) in 0..255 (the models standardise inside)."""
    return np.asarray(crops, dtype=np.float32)[..., None]


def load_crops(paths: Sequence, policy: CropPolicy = LFW) -> np.ndarray:
    """Read image files (BadInputError names a bad one) and apply the crop policy."""
    return np.stack([policy.apply(read_image(p)) for p in paths]) if len(paths) else np.zeros((0, policy.size, policy.size), np.uint8)


def as_crops(X, crop: str | CropPolicy | None, size: int = 64) -> np.ndarray:
    """Turn ``X`` into uint8 (N, size, size) crops under the named policy."""
    if isinstance(X, (str, Path)):
        X = [X]
    items = list(X) if not isinstance(X, np.ndarray) else X
    if len(items) and isinstance(items[0], (str, Path)):
        items = [read_image(p) for p in items]
    if crop == "none":
        arr = np.asarray(items)
        if arr.ndim == 4 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim != 3 or arr.shape[1:] != (size, size):
            raise ValueError(f"crop='none' expects images of shape (N, {size}, {size}), got {arr.shape}")
        return arr.astype(np.uint8) if arr.dtype != np.uint8 else arr
    base = policy_for(crop)
    policy = base if base.size == size else CropPolicy(base.fraction, base.y_offset, size)
    if isinstance(items, np.ndarray) and items.ndim == 2:
        raise ValueError("X must be a sequence of images (N, H, W), not one 2-D image")
    return policy.apply_many(items)
