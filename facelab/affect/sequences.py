"""Simulated face sequences built from real FER2013 faces (a seeded, documented generator).

No redistributable facial-expression video is available here, so facelab
SIMULATES sequences. Everything below is deterministic given ``seed``.

What a sequence is
------------------
* Length: ``min_len``..``max_len`` frames (uniform), 48x48 grey uint8.
* **Expression sequences** (label = one of the 7 FER classes, drawn with the
  split's class frequencies): neutral lead-in frames → onset → apex → offset →
  neutral trail. An intensity profile ``i(t)`` rises linearly over the onset,
  is 1 over the apex and falls over the offset (0 in the neutral lead/trail);
  frame ``t`` shows an apex face with probability ``i(t)``, otherwise a neutral
  face (no morphing between faces). A *neutral* sequence shows neutral faces only.
* **Emotion sequences** pass through 1-3 expression segments (each onset → apex →
  offset, neutral filler frames between them). Their affect label comes from
  :func:`facelab.affect.mapping.sequence_affect`: the apex-length-weighted mean
  valence (-1/0/+1, cut at ±1/3) and arousal (0/1, high at ≥ 0.5) of the segments.
* **Faces**: FER2013 has NO identity labels, so the frames of one sequence are
  *different people* showing the same expression: each segment draws 1-3 apex
  faces of its class and each sequence 1-2 neutral faces, and every frame is one
  of those faces with its own nuisance. Real videos show one person; these do not.
* **Nuisance**, scaled by ``nuisance`` in [0, 1] (0 = clean frames): a smooth
  random walk of shifts (up to ±5 px) and rotations (up to ±12°) and scale
  (±8 %); a linear brightness drift across the sequence (up to ±50 grey levels)
  and contrast change; Gaussian blur on some frames (sigma up to 2.5 px);
  Gaussian noise (std up to 15); a partial occlusion (a dark or light bar/block
  covering 15-35 % of the face) on some frames; and dropped frames, replaced by a
  black frame or a non-face patch cut from the ``non_face_scenes`` photos.

Split hygiene: pass the Training split (with the PublicTest copies removed, see
:func:`facelab.data.train_val_duplicates`) to build training sequences and the
PublicTest split to build evaluation sequences; ``SequenceSet.sources`` records
the FER row index of every face used, so tests can check no face crosses.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..data import FER_LABELS
from .mapping import sequence_affect

NEUTRAL = FER_LABELS.index("neutral")
FRAME_NEUTRAL, FRAME_EXPRESSIVE, FRAME_DROPPED = 0, 1, 2


@dataclass
class SequenceSet:
    """Simulated sequences. ``frames[i]``: uint8 (T_i, 48, 48); ``kinds[i]``: per frame 0 neutral, 1 expressive,
    2 dropped/non-face; ``sources[i]``: the FER row indices used; labels per sequence."""
    kind: str
    frames: list = field(default_factory=list)
    kinds: list = field(default_factory=list)
    sources: list = field(default_factory=list)
    expression: list = field(default_factory=list)  # expression label (expression sequences) or -1
    segments: list = field(default_factory=list)  # [(label, apex_frames), ...]
    valence: list = field(default_factory=list)
    arousal: list = field(default_factory=list)
    nuisance: float = 0.0
    seed: int = 0

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(f) for f in self.frames])

    def labels(self, target: str = "expression") -> np.ndarray:
        return np.asarray(getattr(self, target), dtype=np.int64)


_NON_FACE_CACHE: list = []


def _non_face_patches(rng, count: int = 64) -> list[np.ndarray]:
    """48x48 grey patches cut from the non-face scene photos (cached); smoothed noise if that set is missing."""
    if not _NON_FACE_CACHE:
        try:
            from ..data import list_non_face_scenes
            from ..preprocess import read_image

            paths = list_non_face_scenes()[:12]
            prng = np.random.default_rng(1234)  # fixed: the patch bank does not depend on the caller's seed
            for p in paths:
                img = read_image(p, "grey")
                for _ in range(count // max(1, len(paths)) + 1):
                    s = int(prng.integers(48, max(49, min(img.shape) // 2)))
                    y = int(prng.integers(0, img.shape[0] - s + 1))
                    x = int(prng.integers(0, img.shape[1] - s + 1))
                    _NON_FACE_CACHE.append(cv2.resize(img[y:y + s, x:x + s], (48, 48), interpolation=cv2.INTER_AREA))
        except Exception:  # noqa: BLE001 - the data set is optional here
            pass
        if not _NON_FACE_CACHE:
            prng = np.random.default_rng(1234)
            for _ in range(count):
                _NON_FACE_CACHE.append(cv2.GaussianBlur(prng.integers(0, 256, (48, 48)).astype(np.uint8), (0, 0), 3))
    return _NON_FACE_CACHE


def _profile(rng, min_apex=2, max_apex=8):
    """Onset / apex / offset lengths and their intensity values."""
    onset, apex, offset = int(rng.integers(1, 4)), int(rng.integers(min_apex, max_apex + 1)), int(rng.integers(1, 4))
    up = [(k + 1) / (onset + 1) for k in range(onset)]
    down = [1 - (k + 1) / (offset + 1) for k in range(offset)]
    return up + [1.0] * apex + down, apex


def apply_nuisance(frames: np.ndarray, level: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame nuisance on uint8 (T, 48, 48) frames; returns (frames, dropped mask)."""
    T = len(frames)
    out = frames.astype(np.float32)
    dropped = np.zeros(T, bool)
    if level <= 0:
        return frames.copy(), dropped
    # smooth random walks for pose
    def walk(scale):
        steps = rng.normal(0, scale / 3, T).cumsum()
        return np.clip(steps, -scale, scale)
    dx, dy, rot = walk(5 * level), walk(5 * level), walk(12 * level)
    sc = 1 + np.clip(rng.normal(0, 0.04 * level, T).cumsum(), -0.08 * level, 0.08 * level)
    b0, b1 = rng.uniform(-50 * level, 50 * level, 2)
    contrast = rng.uniform(1 - 0.3 * level, 1 + 0.2 * level)
    patches = _non_face_patches(rng)
    for t in range(T):
        m = cv2.getRotationMatrix2D((24, 24), float(rot[t]), float(sc[t]))
        m[:, 2] += (dx[t], dy[t])
        f = cv2.warpAffine(out[t], m, (48, 48), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        f = (f - 128) * contrast + 128 + (b0 + (b1 - b0) * t / max(1, T - 1))
        if rng.random() < 0.5 * level:
            f = cv2.GaussianBlur(f, (0, 0), float(rng.uniform(0.5, 0.5 + 2.0 * level)))
        if rng.random() < 0.3 * level:
            area = rng.uniform(0.15, 0.35) * 48 * 48
            w = int(np.clip(rng.uniform(0.35, 1.0) * 48, 8, 48))
            h = int(np.clip(area / w, 6, 48))
            x, y = int(rng.integers(0, 48 - w + 1)), int(rng.integers(0, 48 - h + 1))
            f[y:y + h, x:x + w] = rng.choice([rng.uniform(0, 40), rng.uniform(200, 255)])
        f = f + rng.normal(0, rng.uniform(0, 15 * level), f.shape)
        if rng.random() < 0.12 * level:
            dropped[t] = True
            f = np.zeros_like(f) if rng.random() < 0.4 else patches[int(rng.integers(len(patches)))].astype(np.float32)
        out[t] = f
    return np.clip(out, 0, 255).round().astype(np.uint8), dropped


def make_sequences(split, n: int, kind: str = "expression", nuisance: float = 0.5, seed: int = 0,
                   min_len: int = 8, max_len: int = 24, class_probs=None) -> SequenceSet:
    """``n`` simulated sequences from a FER split (``FerSplit``: x uint8 (N, 48, 48), y labels).

    ``kind``: ``expression`` (one apex expression per sequence, the label) or ``emotion``
    (1-3 expression segments, affect label by the documented rule). ``class_probs``: how
    often each class is the apex (default: the split's class frequencies).
    """
    if kind not in ("expression", "emotion"):
        raise ValueError(f"kind must be expression or emotion, not {kind!r}")
    rng = np.random.default_rng(seed)
    x, y = split.x, np.asarray(split.y)
    by_class = [np.flatnonzero(y == c) for c in range(len(FER_LABELS))]
    probs = np.bincount(y, minlength=len(FER_LABELS)).astype(float) if class_probs is None else np.asarray(class_probs, float)
    probs = probs * np.array([len(b) > 0 for b in by_class])
    probs = probs / probs.sum()
    out = SequenceSet(kind=kind, nuisance=nuisance, seed=seed)
    for _ in range(n):
        T = int(rng.integers(min_len, max_len + 1))
        neutral_pool = rng.choice(by_class[NEUTRAL], size=int(rng.integers(1, 3)), replace=False)
        n_seg = 1 if kind == "expression" else int(rng.integers(1, 4))
        labels = rng.choice(len(FER_LABELS), size=n_seg, p=probs)
        # build the intensity track segment by segment, with neutral fillers
        plan = []  # list of (intensity, segment index)
        seg_apex = []
        for k, lab in enumerate(labels):
            filler = int(rng.integers(1, 4)) if (k > 0 or rng.random() < 0.8) else 0
            plan += [(0.0, -1)] * filler
            inten, apex = _profile(rng, max_apex=max(2, min(8, T // n_seg - 4)))
            plan += [(v, k) for v in inten]
            seg_apex.append(apex)
        plan += [(0.0, -1)] * int(rng.integers(0, 3))
        # fit to length T: pad with neutral frames, or trim the neutral ends first
        while len(plan) < T:
            plan.insert(0, (0.0, -1)) if rng.random() < 0.5 else plan.append((0.0, -1))
        while len(plan) > T and plan[0][1] == -1:
            plan.pop(0)
        while len(plan) > T and plan[-1][1] == -1:
            plan.pop()
        apex_pools = [rng.choice(by_class[lab], size=min(len(by_class[lab]), int(rng.integers(1, 4))), replace=False)
                      for lab in labels]
        frames, fkinds, used = [], [], set(int(i) for i in neutral_pool)
        for inten, k in plan:
            if k >= 0 and (labels[k] == NEUTRAL or rng.random() < inten):
                idx = int(rng.choice(apex_pools[k]))
                fkinds.append(FRAME_NEUTRAL if labels[k] == NEUTRAL else FRAME_EXPRESSIVE)
            else:
                idx = int(rng.choice(neutral_pool))
                fkinds.append(FRAME_NEUTRAL)
            used.add(idx)
            frames.append(x[idx])
        frames, dropped = apply_nuisance(np.stack(frames), nuisance, rng)
        fkinds = np.where(dropped, FRAME_DROPPED, np.array(fkinds))
        out.frames.append(frames)
        out.kinds.append(fkinds)
        out.sources.append(sorted(used))
        out.segments.append([(int(lab), int(a)) for lab, a in zip(labels, seg_apex)])
        out.expression.append(int(labels[0]) if kind == "expression" else -1)
        v, a = sequence_affect(labels, seg_apex)
        out.valence.append(v)
        out.arousal.append(a)
    return out


def frame_matrix(seqs: SequenceSet) -> tuple[np.ndarray, np.ndarray]:
    """All frames stacked (sum T, 48, 48, 1) and the sequence offsets (len n+1)."""
    offsets = np.concatenate([[0], np.cumsum(seqs.lengths)])
    return np.concatenate(seqs.frames)[..., None], offsets


def pad_features(feats: np.ndarray, offsets: np.ndarray, max_len: int | None = None) -> np.ndarray:
    """Per-frame features (sum T, D) → zero-padded (n, max_len, D) (padding is masked by the sequence models)."""
    lens = np.diff(offsets)
    max_len = max_len or int(lens.max())
    out = np.zeros((len(lens), max_len, feats.shape[1]), np.float32)
    for i, (a, b) in enumerate(zip(offsets[:-1], offsets[1:])):
        out[i, :b - a] = feats[a:b][:max_len]
    return out


def average_per_frame(proba: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The per-frame-averaging baseline: mean of the frames' class probabilities for each sequence."""
    return np.stack([proba[a:b].mean(0) for a, b in zip(offsets[:-1], offsets[1:])])


def film_strip(seqs: SequenceSet, i: int, ax=None, max_frames: int = 24):
    """Draw sequence ``i`` as a row of frames with each frame's kind (N neutral, E expressive, X dropped)."""
    import matplotlib.pyplot as plt

    f = seqs.frames[i][:max_frames]
    strip = np.concatenate([np.pad(fr, ((0, 0), (0, 2)), constant_values=255) for fr in f], axis=1)
    ax = ax or plt.gca()
    ax.imshow(strip, cmap="gray", vmin=0, vmax=255)
    ax.set_xticks([48 * k + 24 + 2 * k for k in range(len(f))])
    ax.set_xticklabels(["NEX"[k] for k in seqs.kinds[i][:max_frames]], fontsize=7)
    ax.set_yticks([])
    return ax
