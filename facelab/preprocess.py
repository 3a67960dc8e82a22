"""One path for reading images and turning faces into model inputs.

Every stage (training, evaluation, the CLI and the pipeline) reads files with
:func:`read_image` and cuts faces with :func:`crop_face`, so the numbers in the
report are the numbers the command line gives.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from .errors import BadInputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".pgm", ".ppm", ".pbm", ".bmp", ".tif", ".tiff", ".webp"}


def _decode_with_pillow(path: Path) -> np.ndarray:
    # OpenCV's GIF support depends on the build; Pillow reads GIF/palette files everywhere.
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("L", "I;16", "I", "F", "1"):
                arr = np.asarray(im.convert("L"))
            else:
                arr = cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2BGR)
    except UnidentifiedImageError as exc:
        raise BadInputError(path, "not an image file (no decoder recognises its bytes)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadInputError(path, f"cannot decode image: {exc}") from exc
    return arr


def read_image(path, mode: str = "grey") -> np.ndarray:
    """Read any common image file as uint8: ``mode`` is ``grey`` (H, W) or ``bgr``/``rgb`` (H, W, 3).

    Raises :class:`BadInputError` naming the file for a missing, empty, truncated
    or non-image file, instead of OpenCV's silent ``None``.
    """
    if mode not in ("grey", "gray", "bgr", "rgb"):
        raise ValueError(f"mode must be grey, bgr or rgb, not {mode!r}")
    path = Path(path)
    if not path.exists():
        raise BadInputError(path, "no such file")
    if path.is_dir():
        raise BadInputError(path, "is a directory, not an image file")
    if path.stat().st_size == 0:
        raise BadInputError(path, "empty file (0 bytes)")
    data = np.fromfile(str(path), dtype=np.uint8)
    img = None
    if path.suffix.lower() != ".gif":
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        img = _decode_with_pillow(path)
    elif _looks_truncated(path, data):
        raise BadInputError(path, "truncated image file (data ends before the image does)")
    if img.dtype != np.uint8:  # 16-bit PNG/TIFF: scale to 8 bits
        img = cv2.convertScaleAbs(img, alpha=255.0 / max(1, int(img.max())))
    if img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.size == 0:
        raise BadInputError(path, "image has no pixels")
    return to_mode(img, mode)


def _looks_truncated(path: Path, data: np.ndarray) -> bool:
    # libjpeg fills a truncated JPEG with grey and only warns; the end-of-image marker tells.
    if path.suffix.lower() in (".jpg", ".jpeg") or (len(data) > 2 and data[0] == 0xFF and data[1] == 0xD8):
        tail = bytes(data[-64:])
        return b"\xff\xd9" not in tail
    return False


def to_mode(img: np.ndarray, mode: str = "grey") -> np.ndarray:
    """Convert a uint8 grey (H, W) or BGR (H, W, 3) array to ``grey``, ``bgr`` or ``rgb``."""
    if mode in ("grey", "gray"):
        return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    bgr = img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return bgr if mode == "bgr" else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def clip_box(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """Clip an (x, y, w, h) box to the image; boxes past the border are common in CMU+MIT."""
    x, y, w, h = box
    x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
    x1, y1 = min(width, int(round(x + w))), min(height, int(round(y + h)))
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


def crop_face(image: np.ndarray, box: Sequence[float], size: int | tuple[int, int] | None = None,
              margin: float = 0.0, square: bool = True) -> np.ndarray:
    """Cut the face in ``box`` (x, y, w, h), grown by ``margin`` (fraction of the size) and made square.

    Parts outside the image are filled by edge replication, so a face at the
    border still yields a full-size crop.
    """
    x, y, w, h = [float(v) for v in box]
    cx, cy = x + w / 2, y + h / 2
    if square:
        w = h = max(w, h)
    w, h = w * (1 + margin), h * (1 + margin)
    x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
    x1, y1 = x0 + max(1, int(round(w))), y0 + max(1, int(round(h)))
    H, W = image.shape[:2]
    pad = max(0, -x0, -y0, x1 - W, y1 - H)
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0, x1, y1 = x0 + pad, y0 + pad, x1 + pad, y1 + pad
    crop = image[y0:y1, x0:x1]
    return resize(crop, size) if size is not None else crop


def center_crop(image: np.ndarray, fraction: float = 1.0, size: int | tuple[int, int] | None = None) -> np.ndarray:
    """The central square covering ``fraction`` of the shorter side: the crop policy for pre-cropped faces (LFW, ORL, FER)."""
    H, W = image.shape[:2]
    s = min(H, W) * fraction
    return crop_face(image, ((W - s) / 2, (H - s) / 2, s, s), size=size)


def resize(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize to ``size`` (side, or (width, height)), with area interpolation when shrinking."""
    w, h = (size, size) if isinstance(size, int) else size
    interp = cv2.INTER_AREA if image.shape[1] > w else cv2.INTER_LINEAR
    return cv2.resize(image, (int(w), int(h)), interpolation=interp)


def align_eyes(image: np.ndarray, left_eye: Sequence[float], right_eye: Sequence[float],
               size: int = 64, eye_y: float = 0.38, eye_dist: float = 0.42) -> np.ndarray:
    """Rotate and scale so the eyes are level, ``eye_dist`` of the width apart, at height ``eye_y``.

    ``left_eye`` is the one on the image's left. A similarity transform
    (rotation, scale, shift) keeps the face's shape.
    """
    (lx, ly), (rx, ry) = left_eye, right_eye
    src = np.float32([[lx, ly], [rx, ry]])
    dst = np.float32([[size * (0.5 - eye_dist / 2), size * eye_y], [size * (0.5 + eye_dist / 2), size * eye_y]])
    matrix, _ = cv2.estimateAffinePartial2D(src[None], dst[None])
    if matrix is None:  # degenerate (both eyes on one point): fall back to a plain crop around them
        c = src.mean(axis=0)
        return crop_face(image, (c[0] - size / 2, c[1] - size / 2, size, size), size=size)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def normalize(images: np.ndarray, method: str = "unit") -> np.ndarray:
    """uint8 → float32: ``unit`` scales to [0, 1], ``symmetric`` to [-1, 1], ``standardize`` per image to mean 0, std 1."""
    x = np.asarray(images, dtype=np.float32)
    if method == "unit":
        return x / 255.0
    if method == "symmetric":
        return x / 127.5 - 1.0
    if method == "standardize":
        axes = tuple(range(1, x.ndim)) if x.ndim > 2 else None
        mean = x.mean(axis=axes, keepdims=True)
        std = x.std(axis=axes, keepdims=True)
        return (x - mean) / np.maximum(std, 1e-6)
    raise ValueError(f"unknown normalization {method!r}")


def sharpness(image: np.ndarray) -> float:
    """Mean absolute Laplacian of the float image: the blur check SOURCES.md uses for FER2013."""
    return float(np.abs(cv2.Laplacian(np.asarray(image, np.float32), cv2.CV_32F)).mean())


def list_images(paths: Sequence, recursive: bool = True) -> list[Path]:
    """Expand files and folders into a sorted list of image files (folders by suffix)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            it = p.rglob("*") if recursive else p.glob("*")
            out.extend(sorted(q for q in it if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES))
        else:
            out.append(p)
    return out
