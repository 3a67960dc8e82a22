"""Image corruptions for robustness measurements: blur, noise, occlusion, low resolution, illumination change.

Bottom layer: numpy and OpenCV only. Every function takes a uint8 image (grey ``(H, W)`` or colour ``(H, W, 3)``)
and returns a new uint8 image of the same shape; the input is never modified. Random ones (noise, occlusion) take a
``seed`` and give the same output for the same seed.

:func:`corrupt` names a corruption and a **severity** (0: the image unchanged, 1 mild, 2 moderate, 3 strong). The
sizes of a corruption (a blur's width, an occluder's side, the resolution kept) are fractions of ``face_size``, the
face's width in pixels (default: the image's shorter side, right for a face crop): severity 2 means the same thing
to a 48x48 FER2013 face and to a face of 110 pixels inside a 250x250 LFW photo.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

#: the five corruptions, in the order tables and figures show them
CORRUPTIONS = ("blur", "noise", "occlusion", "low_resolution", "illumination")
SEVERITIES = (1, 2, 3)

#: parameters per severity 1, 2, 3 (sizes as fractions of the face's width)
BLUR_SIGMA = (0.02, 0.04, 0.08)          # Gaussian sigma / face width
NOISE_SIGMA = (10.0, 25.0, 50.0)         # Gaussian noise sigma, grey levels
OCCLUDED_AREA = (0.1, 0.25, 0.5)         # share of the face's square covered by the occluder
PIXELS_ACROSS = (24, 12, 8)              # pixels left across the face's width
ILLUMINATION = ((1.5, 0.3), (2.2, 0.6), (3.0, 0.85))   # (gamma, side-light strength)


def _check(image) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3)):
        raise ValueError(f"expected a uint8 grey (H, W) or colour (H, W, 3) image, got {image.dtype} {image.shape}")
    return image


def gaussian_blur(image, sigma: float) -> np.ndarray:
    """Gaussian blur of standard deviation ``sigma`` pixels (out of focus, motion-free); ``sigma <= 0``: a copy."""
    image = _check(image)
    if sigma <= 0:
        return image.copy()
    out = cv2.GaussianBlur(image, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REFLECT)
    return out.reshape(image.shape)


def gaussian_noise(image, sigma: float, seed: int = 0) -> np.ndarray:
    """Additive Gaussian noise of ``sigma`` grey levels (sensor noise in poor light), clipped to 0..255."""
    image = _check(image)
    noise = np.random.default_rng(seed).normal(0.0, float(sigma), image.shape)
    return np.clip(image.astype(np.float64) + noise, 0, 255).round().astype(np.uint8)


def occlusion(image, area: float, seed: int = 0, region: Sequence[float] | None = None, value: int = 0) -> np.ndarray:
    """A square of grey level ``value`` covering ``area`` (0..1) of ``region``'s square, at a random place inside
    ``region`` (x, y, w, h; default the whole image): a hand, a scarf, sunglasses."""
    image = _check(image)
    out = image.copy()
    H, W = image.shape[:2]
    x, y, w, h = region if region is not None else (0, 0, W, H)
    x0, y0 = int(max(0, round(x))), int(max(0, round(y)))
    x1, y1 = int(min(W, round(x + w))), int(min(H, round(y + h)))
    if area <= 0 or x1 <= x0 or y1 <= y0:
        return out
    side = int(round(np.sqrt(min(area, 1.0)) * min(x1 - x0, y1 - y0)))
    if side < 1:
        return out
    rng = np.random.default_rng(seed)
    ox = x0 + int(rng.integers(0, x1 - x0 - side + 1))
    oy = y0 + int(rng.integers(0, y1 - y0 - side + 1))
    out[oy:oy + side, ox:ox + side] = value
    return out


def low_resolution(image, factor: float) -> np.ndarray:
    """Down-sample by ``factor`` (area averaging), then back up to the original size (bilinear): a face far from
    the camera, or a thumbnail enlarged. ``factor <= 1``: a copy."""
    image = _check(image)
    if factor <= 1:
        return image.copy()
    H, W = image.shape[:2]
    small = cv2.resize(image, (max(1, int(round(W / factor))), max(1, int(round(H / factor)))),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR).reshape(image.shape)


def illumination(image, gamma: float = 1.0, side: float = 0.0, gain: float = 1.0) -> np.ndarray:
    """Darker and uneven light: the gamma curve ``255 * gain * (x / 255) ** gamma`` (``gamma > 1`` darkens the
    shadows most), times a left-to-right ramp from ``1 - side`` to 1 (light from one side)."""
    image = _check(image)
    x = image.astype(np.float64) / 255.0
    out = gain * np.power(x, float(gamma))
    if side:
        ramp = np.linspace(1.0 - float(side), 1.0, image.shape[1])
        out = out * (ramp[None, :, None] if image.ndim == 3 else ramp[None, :])
    return np.clip(255.0 * out, 0, 255).round().astype(np.uint8)


def corrupt(image, name: str, severity: int, seed: int = 0, face_size: float | None = None,
            region: Sequence[float] | None = None) -> np.ndarray:
    """``image`` under corruption ``name`` (one of :data:`CORRUPTIONS`) at ``severity`` 0-3 (0: a copy).

    ``face_size``: the face's width in pixels (default the image's shorter side); ``region``: where the face is
    (x, y, w, h), for the occluder (default the whole image)."""
    image = _check(image)
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; known: {', '.join(CORRUPTIONS)}")
    if severity not in (0, *SEVERITIES):
        raise ValueError(f"severity must be 0, 1, 2 or 3, not {severity!r}")
    if severity == 0:
        return image.copy()
    k = severity - 1
    face = float(face_size) if face_size else float(min(image.shape[:2]))
    if name == "blur":
        return gaussian_blur(image, BLUR_SIGMA[k] * face)
    if name == "noise":
        return gaussian_noise(image, NOISE_SIGMA[k], seed)
    if name == "occlusion":
        return occlusion(image, OCCLUDED_AREA[k], seed, region)
    if name == "low_resolution":
        return low_resolution(image, face / PIXELS_ACROSS[k])
    gamma, side = ILLUMINATION[k]
    return illumination(image, gamma, side)


def corrupt_many(images, name: str, severity: int, seed: int = 0, face_size: float | None = None,
                 region: Sequence[float] | None = None) -> np.ndarray | list:
    """:func:`corrupt` on each image, image ``i`` with seed ``seed + i`` (each its own noise and occluder place,
    the same on every call); an array in gives an array out."""
    out = [corrupt(im, name, severity, seed + i, face_size, region) for i, im in enumerate(images)]
    if isinstance(images, np.ndarray):
        return np.stack(out) if out else images.copy()
    return out


def describe(name: str, severity: int, face_size: float | None = None) -> str:
    """The corruption's parameters in words, e.g. ``"blur sigma 4% of the face width"``."""
    if severity == 0:
        return "clean"
    k = severity - 1
    where = "" if face_size is None else f" ({face_size:.0f} px)"
    return {"blur": f"Gaussian blur, sigma {BLUR_SIGMA[k]:.0%} of the face width{where}",
            "noise": f"Gaussian noise, sigma {NOISE_SIGMA[k]:.0f} grey levels",
            "occlusion": f"black square over {OCCLUDED_AREA[k]:.0%} of the face's square",
            "low_resolution": f"{PIXELS_ACROSS[k]} pixels across the face, scaled back up",
            "illumination": f"gamma {ILLUMINATION[k][0]}, side light ramp {ILLUMINATION[k][1]:.0%}"}[name]


__all__ = ["CORRUPTIONS", "SEVERITIES", "corrupt", "corrupt_many", "describe", "gaussian_blur", "gaussian_noise",
           "illumination", "low_resolution", "occlusion"]
