"""Training patches for the window classifiers: Caltech face crops (+ augmentation) and non-face scene crops."""
from __future__ import annotations

import cv2
import numpy as np

from ..preprocess import read_image

WIN = 36


def augment_faces(faces: np.ndarray, copies: int = 3, seed: int = 0, max_shift: float = 3.0,
                  max_scale: float = 0.1, max_rot: float = 8.0, photometric: bool = True, occlude: float = 0.0,
                  jpeg: float = 0.0, border_cut: float = 0.0) -> np.ndarray:
    """Mirror every face, then add ``copies`` jittered versions of each (shift, scale, small rotation,
    contrast/brightness/gamma), so the window classifier tolerates the pyramid's stride and scale step. Each
    jittered copy is also, with these probabilities, partly hidden (:func:`occlusion`), JPEG-compressed at a low
    quality, or cut by an image border (:func:`cut_by_border`): what faces in real photos look like. Those three
    draw from their own random stream, so with all of them 0 the result is the same as without them."""
    rng = np.random.default_rng(seed)
    rng_real = np.random.default_rng([seed, 1])
    faces = np.asarray(faces, np.uint8)
    base = np.concatenate([faces, faces[:, :, ::-1]])
    out = [base]
    c = (WIN - 1) / 2.0
    for _ in range(copies):
        batch = np.empty_like(base)
        for i, f in enumerate(base):
            s = 1.0 + rng.uniform(-max_scale, max_scale)
            a = rng.uniform(-max_rot, max_rot)
            M = cv2.getRotationMatrix2D((c, c), a, s)
            M[:, 2] += rng.uniform(-max_shift, max_shift, 2)
            g = cv2.warpAffine(f, M, (WIN, WIN), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            if photometric:
                g = photometric_jitter(g, rng)
            if occlude and rng_real.random() < occlude:
                g = occlusion(g, rng_real)
            if jpeg and rng_real.random() < jpeg:
                _, buf = cv2.imencode(".jpg", g, [cv2.IMWRITE_JPEG_QUALITY, int(rng_real.integers(8, 40))])
                g = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
            if border_cut and rng_real.random() < border_cut:
                g = cut_by_border(g, rng_real)
            batch[i] = g
        out.append(batch)
    return np.concatenate(out)


def occlusion(g: np.ndarray, rng, max_frac: float = 0.35) -> np.ndarray:
    """A rectangle over up to ``max_frac`` of the window, anchored at an edge (a hand, a scarf, hair, sunglasses
    or another head hide part of a face, rarely its middle alone), filled flat or with noise around a random grey."""
    out = g.copy()
    area = rng.uniform(0.1, max_frac) * WIN * WIN
    h = int(np.clip(np.sqrt(area * rng.uniform(0.4, 2.5)), 6, WIN))
    w = int(np.clip(area / h, 6, WIN))
    side = rng.integers(4)  # the edge it comes from: top, bottom, left, right
    y = 0 if side == 0 else WIN - h if side == 1 else int(rng.integers(0, WIN - h + 1))
    x = 0 if side == 2 else WIN - w if side == 3 else int(rng.integers(0, WIN - w + 1))
    fill = rng.uniform(0, 255) + rng.normal(0, rng.uniform(0, 30), (h, w))
    out[y:y + h, x:x + w] = np.clip(fill, 0, 255).astype(np.uint8)
    return out


def cut_by_border(g: np.ndarray, rng, max_frac: float = 0.4) -> np.ndarray:
    """The window of a face cut by an image border, as the CNN detector sees it with ``border_pad``: up to
    ``max_frac`` of it on one side is beyond the image, filled by repeating the last row or column inside."""
    n = int(rng.integers(3, int(max_frac * WIN) + 1))
    side = rng.integers(4)
    out = np.rot90(g, side).copy()  # cut the left columns of the rotated window, rotate back
    out[:, :n] = out[:, n:n + 1]
    return np.ascontiguousarray(np.rot90(out, -side))


def flat_band(g: np.ndarray, rng, max_frac: float = 0.5) -> np.ndarray:
    """A window at the edge of a photo laid on a plain page or screen: up to ``max_frac`` of it on one side, or on two
    sides meeting at a corner, one flat grey level. Unlike :func:`cut_by_border`'s repeated edge, the band's level
    steps away from the texture: a negative, so that a face-sized corner of a tile is no face."""
    out = g.copy()
    level = int(rng.integers(0, 256))
    first = int(rng.integers(4))
    for side in (first, (first + 1) % 4) if rng.random() < 0.5 else (first,):
        n = int(rng.integers(3, int(max_frac * WIN) + 1))
        r = np.rot90(out, side).copy()  # fill the left columns of the rotated window, rotate back
        r[:, :n] = level
        out = np.rot90(r, -side)
    return np.ascontiguousarray(out)


def _some(patches: np.ndarray, p: float, change, rng) -> np.ndarray:
    """A copy of ``patches`` with each changed by ``change(patch, rng)`` with probability ``p``."""
    if not p:
        return patches
    out = patches.copy()
    for i in np.nonzero(rng.random(len(out)) < p)[0]:
        out[i] = change(out[i], rng)
    return out


def cut_some_by_border(patches: np.ndarray, p: float, seed: int = 0) -> np.ndarray:
    """A copy of ``patches`` with each cut by an image border (:func:`cut_by_border`) with probability ``p``: for the
    negatives, so that a flat band beside a pattern is no cue for "face" once the faces are cut that way too."""
    return _some(patches, p, cut_by_border, np.random.default_rng([seed, 2]))


def flat_band_some(patches: np.ndarray, p: float, seed: int = 0) -> np.ndarray:
    """A copy of ``patches`` with each given a :func:`flat_band` with probability ``p`` (for the negatives)."""
    return _some(patches, p, flat_band, np.random.default_rng([seed, 3]))


def photometric_jitter(g: np.ndarray, rng) -> np.ndarray:
    x = g.astype(np.float32) / 255.0
    x = np.clip(x, 0, 1) ** np.exp(rng.uniform(-0.5, 0.5))  # gamma: dark and washed-out faces
    m = x.mean()
    x = (x - m) * rng.uniform(0.6, 1.3) + m + rng.uniform(-0.15, 0.15)
    if rng.random() < 0.2:
        x = cv2.GaussianBlur(x, (3, 3), rng.uniform(0.3, 1.0))
    if rng.random() < 0.2:
        x = x + rng.normal(0, rng.uniform(0.01, 0.04), x.shape)
    return np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)


def load_scene(path, max_side: int = 800, mode: str = "grey") -> np.ndarray:
    """A non-face scene as grey (or ``mode``), shrunk so its longer side is at most ``max_side``."""
    img = read_image(path, mode)
    s = max_side / max(img.shape[:2])
    if s < 1:
        img = cv2.resize(img, (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s))),
                         interpolation=cv2.INTER_AREA)
    return img


def random_negatives(scenes, n: int, seed: int = 0, min_side: int = WIN) -> np.ndarray:
    """``n`` random square crops of random size from the scenes, resized to 36x36."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, WIN, WIN), np.uint8)
    for i in range(n):
        img = scenes[rng.integers(len(scenes))]
        H, W = img.shape
        top = min(H, W)
        if top < min_side:
            side = top
        else:
            side = int(np.exp(rng.uniform(np.log(min_side), np.log(top))))
        y = rng.integers(0, H - side + 1)
        x = rng.integers(0, W - side + 1)
        crop = img[y:y + side, x:x + side]
        out[i] = cv2.resize(crop, (WIN, WIN), interpolation=cv2.INTER_AREA if side > WIN else cv2.INTER_LINEAR)
    return out


def split_scenes(paths, val_fraction: float = 0.15, seed: int = 0):
    """Deterministic split of the scene photos: training scenes (negatives, mining) and held-out ones."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(paths))
    n_val = int(round(val_fraction * len(paths)))
    return [paths[i] for i in sorted(idx[n_val:])], [paths[i] for i in sorted(idx[:n_val])]
