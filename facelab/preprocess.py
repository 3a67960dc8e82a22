"""One path for reading images and turning faces into model inputs.

Every stage (training, evaluation, the CLI and the pipeline) reads files with
:func:`read_image` and cuts faces with :func:`crop_face`, so the numbers in the
report are the numbers the command line gives.
"""
from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from .errors import BadInputError, FacelabError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".pgm", ".ppm", ".pbm", ".bmp", ".tif", ".tiff", ".webp"}
#: what a folder walk takes for a video (anything else a user names is tried with OpenCV's VideoCapture anyway)
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


def _env_limit(name: str, default: int) -> int:
    """A positive integer from the environment, else ``default``; a bad value is an error, not silently ignored."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise FacelabError(f"{name}={raw!r}: expected a positive whole number")
    return value


#: most pixels (width x height) an image may have; checked from the header, before any decoding allocates it
MAX_PIXELS = _env_limit("FACELAB_MAX_PIXELS", 50_000_000)
#: largest image file read, in bytes; checked from the file's size before reading it
MAX_IMAGE_BYTES = _env_limit("FACELAB_MAX_IMAGE_BYTES", 200_000_000)

_JPEG_START, _JPEG_END = b"\xff\xd8", b"\xff\xd9"


def check_input_file(path, what: str = "file", max_bytes: int | None = None) -> int:
    """Size of ``path`` after checking, from ``os.stat`` alone, that it is a non-empty regular file of at most ``max_bytes``.

    Nothing is opened: a FIFO (which would block on open), a directory or a sparse 12 GB
    file is refused by what its metadata says. Returns the size in bytes.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise BadInputError(path, "no such file") from None
    except (OSError, ValueError) as exc:  # permission, name too long, symlink loop; ValueError: a NUL in the name
        raise BadInputError(path, f"cannot read {what}: {getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise BadInputError(path, f"is a directory, not {what}")
    if not stat.S_ISREG(info.st_mode):
        raise BadInputError(path, f"not a regular file (a FIFO, socket or device), not {what}")
    if info.st_size == 0:
        raise BadInputError(path, "empty file (0 bytes)")
    if max_bytes is not None and info.st_size > max_bytes:
        raise BadInputError(path, f"file of {info.st_size:,} bytes is larger than the limit of {max_bytes:,} bytes")
    return info.st_size


def read_bytes(path, max_bytes: int, what: str = "file") -> bytes:
    """The whole of a regular file of at most ``max_bytes`` (checked first by :func:`check_input_file`)."""
    check_input_file(path, what, max_bytes)
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)  # bounded even if the file grew since the check
    except OSError as exc:
        raise BadInputError(path, f"cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise BadInputError(path, f"file is larger than the limit of {max_bytes:,} bytes")
    if not data:
        raise BadInputError(path, "empty file (0 bytes)")
    return data


def _open_header(path: Path, data: bytes, max_pixels: int):
    """Pillow's reading of the header (format, size, EXIF orientation) without decoding pixels; None if unrecognised."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:  # reads the header only
            fmt, (width, height) = im.format, im.size
            try:
                orientation = int(im.getexif().get(0x0112, 1))
            except Exception:  # a broken EXIF block is ignored, as OpenCV ignores it
                orientation = 1
    except Image.DecompressionBombError as exc:
        # Pillow's own check (2 x PIL.Image.MAX_IMAGE_PIXELS, about 179 M) fires inside open(), before ours can;
        # it also caps a FACELAB_MAX_PIXELS set higher than that.
        raise BadInputError(path, f"image is larger than the limit of {max_pixels:,} pixels (FACELAB_MAX_PIXELS); "
                                  f"Pillow says: {exc}") from None
    except UnidentifiedImageError:
        return None
    except Exception as exc:  # plugins raise struct.error, IndexError, SyntaxError, ... on malformed headers
        if "truncat" in str(exc).lower():
            raise BadInputError(path, "truncated image file (data ends inside the header)") from None
        raise BadInputError(path, f"cannot decode image header: {exc}") from None
    return fmt, width, height, orientation


def _check_pixels(path: Path, width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise BadInputError(path, f"image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise BadInputError(path, f"image of {width}x{height} = {width * height:,} pixels is larger than the limit "
                                  f"of {max_pixels:,} pixels (FACELAB_MAX_PIXELS)")


def _decode_with_pillow(path: Path, data: bytes | None = None) -> np.ndarray:
    """Decode with Pillow, EXIF orientation applied. OpenCV's GIF support depends on the build; Pillow reads GIF everywhere."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data) if data is not None else path) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("L", "I;16", "I", "F", "1"):
                arr = np.asarray(im.convert("L"))
            else:
                arr = cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2BGR)
    except UnidentifiedImageError as exc:
        raise BadInputError(path, "not an image file (no decoder recognises its bytes)") from exc
    except OSError as exc:
        if "truncated" in str(exc):
            raise BadInputError(path, "truncated image file (data ends before the image does)") from None
        raise BadInputError(path, f"cannot decode image: {exc}") from None
    except Exception as exc:  # plugins raise SyntaxError, ValueError, struct.error, ... on malformed data
        raise BadInputError(path, f"cannot decode image: {exc}") from None
    return arr


def _imdecode(data: bytes) -> np.ndarray | None:
    """OpenCV's decoding, or None; its log lines about a bad file are silenced, since the caller reports it in one line."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:  # e.g. a size past OpenCV's own limit: let Pillow give the reason
        return None
    finally:
        cv2.utils.logging.setLogLevel(level)


# Random filler without 0xFF (which would start a marker), fixed so results repeat.
_FILLER = bytes(np.random.default_rng(0).integers(0, 255, 256, dtype=np.uint8))


def _jpeg_without_end_marker(data: bytes) -> np.ndarray | None:
    """Decode a JPEG whose end-of-image marker is missing; None if scan data is missing too.

    OpenCV refuses a JPEG that stops early, and Pillow calls it truncated, even when only
    the 2-byte end marker is gone. Neither tells "only the marker is missing" from "half
    the file is gone" (libjpeg only prints a warning), so we ask the decoder: with an end
    marker supplied, a complete scan decodes the same whatever bytes come before that
    marker (libjpeg skips them), while a cut scan decodes those bytes as picture data.
    """
    body = data.rstrip(b"\xff")  # a cut inside the marker itself
    img = _imdecode(body + _JPEG_END)
    if img is None:
        return None
    for filler in (bytes(256), _FILLER):
        other = _imdecode(body + filler + _JPEG_END)
        if other is None or other.shape != img.shape or not np.array_equal(img, other):
            return None
    return img


def image_size(path, *, max_bytes: int | None = None) -> tuple[int, int]:
    """(width, height) from the header alone, with the checks of :func:`read_image` on the file, never a traceback."""
    path = Path(path)
    data = read_bytes(path, MAX_IMAGE_BYTES if max_bytes is None else max_bytes, "an image file")
    header = _open_header(path, data, MAX_PIXELS)
    if header is None:
        img = read_image(path)  # a format only OpenCV knows: decode to learn the size
        return img.shape[1], img.shape[0]
    return header[1], header[2]


def read_image(path, mode: str = "grey", *, max_pixels: int | None = None, max_bytes: int | None = None) -> np.ndarray:
    """Read any common image file as uint8: ``mode`` is ``grey`` (H, W) or ``bgr``/``rgb`` (H, W, 3).

    Raises :class:`BadInputError` naming the file for a missing, empty, truncated, oversized
    or non-image file, instead of OpenCV's silent ``None`` or a decoder's traceback. The file
    size (``max_bytes``, default :data:`MAX_IMAGE_BYTES`) and the pixel count from the header
    (``max_pixels``, default :data:`MAX_PIXELS`) are checked before decoding. EXIF orientation
    is applied, so a photo stored sideways comes out upright.
    """
    if mode not in ("grey", "gray", "bgr", "rgb"):
        raise ValueError(f"mode must be grey, bgr or rgb, not {mode!r}")
    path = Path(path)
    max_pixels = MAX_PIXELS if max_pixels is None else max_pixels
    data = read_bytes(path, MAX_IMAGE_BYTES if max_bytes is None else max_bytes, "an image file")
    header = _open_header(path, data, max_pixels)
    if header is not None:
        fmt, width, height, orientation = header
        _check_pixels(path, width, height, max_pixels)
    img = None
    if header is None or (fmt != "GIF" and orientation == 1):
        # OpenCV first: it decodes every format it knows the same way as before this check existed.
        img = _imdecode(data)
        if img is None and data.startswith(_JPEG_START) and not data.endswith(_JPEG_END):
            img = _jpeg_without_end_marker(data)
    if img is None:
        if header is None:
            raise BadInputError(path, "not an image file (no decoder recognises its bytes)")
        img = _decode_with_pillow(path, data)
    if img.size == 0:
        raise BadInputError(path, "image has no pixels")
    _check_pixels(path, img.shape[1], img.shape[0], max_pixels)  # formats only OpenCV knows have no header check
    if img.dtype.kind == "f":  # Radiance HDR and the like: NaN/inf would break the scaling below
        img = np.nan_to_num(img, nan=0.0, posinf=0.0, neginf=0.0)
    if img.dtype != np.uint8:  # 16-bit PNG/TIFF: scale to 8 bits
        img = cv2.convertScaleAbs(img, alpha=255.0 / max(1, int(img.max())))
    if img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    if img.ndim == 3 and img.shape[2] in (1, 2):  # grey, or grey + alpha
        img = img[:, :, 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
        raise BadInputError(path, f"unsupported pixel layout {img.shape}")
    return to_mode(img, mode)


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


def clip_boxes(boxes, width: float, height: float, min_side: float = 1.0) -> np.ndarray:
    """Boxes (K, 4) x, y, w, h, in float pixels, cut to the image (a face cut by the border keeps its visible part);
    boxes left narrower or lower than ``min_side`` are dropped. Columns after the fourth (a score, an index) are
    carried along unchanged."""
    b = np.asarray(boxes, float)
    b = b.reshape(-1, b.shape[-1] if b.ndim == 2 else 4)
    x0, y0 = np.clip(b[:, 0], 0, width), np.clip(b[:, 1], 0, height)
    x1, y1 = np.clip(b[:, 0] + b[:, 2], 0, width), np.clip(b[:, 1] + b[:, 3], 0, height)
    out = np.column_stack([x0, y0, x1 - x0, y1 - y0, b[:, 4:]])
    return out[(out[:, 2] >= min_side) & (out[:, 3] >= min_side)]


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


def list_images(paths: Sequence, recursive: bool = True, suffixes=IMAGE_SUFFIXES) -> list[Path]:
    """Expand files and folders into a sorted list of image files (folders by suffix: ``suffixes``)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            it = p.rglob("*") if recursive else p.glob("*")
            out.extend(sorted(q for q in it if q.is_file() and q.suffix.lower() in suffixes))
        else:
            out.append(p)
    return out
