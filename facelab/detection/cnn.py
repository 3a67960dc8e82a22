"""facelab's CNN detector: a 36x36 face/non-face classifier run fully convolutionally over an image pyramid.

The classifier is built from valid convolutions and 2x2 poolings only, so on a 36x36 patch it outputs one
logit and on a larger image a score map whose cell (i, j) is exactly the classifier applied to the window
at (4 j, 4 i): one forward pass per pyramid level scores every window (stride 4 px). A tiny first stage
(about 10 k parameters, same geometry) scores the whole pyramid cheaply; only windows it passes (in the shipped
settings: local maxima of its score map above a threshold) are cut out and scored, all levels in one batch, by the
second stage (about 126 k parameters). Surviving windows from all levels go through
non-maximum suppression, and a box calibration (fitted on the detection validation split) maps the 36x36 window to
facelab's face box convention (:func:`facelab.data.face_box_from_points`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from ..models.runtime import predict_batches
from ..models.weights import WEIGHTS_DIR, load_keras
from .base import Detection, Detector, JsonConfig, as_grey
from .nms import containment_suppression, group_suppression, nms

WIN = 36
STRIDE = 4


def build_classifier(filters=(16, 32, 64), dense: int = 64, dropout: float = 0.3, name: str = "cnn_stage2"):
    """Fully convolutional window classifier: (B, H, W, 1) uint8-range grey -> (B, (H-36)/4+1, (W-36)/4+1, 1) logits."""
    import keras
    from keras import layers

    f1, f2, f3 = filters
    inp = keras.Input((None, None, 1), name="grey")
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(inp)
    x = layers.Conv2D(f1, 3, activation="relu", name="conv1")(x)      # 34
    x = layers.MaxPooling2D(2)(x)                                      # 17
    x = layers.Conv2D(f2, 3, activation="relu", name="conv2")(x)      # 15
    x = layers.MaxPooling2D(2)(x)                                      # 7
    x = layers.Conv2D(f3, 3, activation="relu", name="conv3")(x)      # 5
    x = layers.Conv2D(dense, 5, activation="relu", name="fc_as_conv")(x)  # 1
    if dropout:
        x = layers.Dropout(dropout)(x)
    out = layers.Conv2D(1, 1, name="logit")(x)
    return keras.Model(inp, out, name=name)


def build_stage1(name: str = "cnn_stage1"):
    """The cheap first stage (~10 k parameters), same 36x36 window and stride 4 as the second."""
    return build_classifier(filters=(8, 16, 16), dense=16, dropout=0.0, name=name)


@dataclass
class CNNConfig(JsonConfig):
    """Inference settings stored beside the weights (``detection_cnn.json``)."""

    min_face: float = 28.0           # smallest face (ground-truth box width) searched for, px
    scale_step: float = 1.2          # pyramid ratio between levels
    stage1_threshold: float = -2.0   # logit a window needs from stage 1 to be looked at by stage 2
    nms_iou: float = 0.3
    containment: float = 0.75        # drop a box lying this much inside a better one (0 = off)
    min_score: float = 0.0           # default operating threshold (stage-2 logit)
    stage1_peaks: bool = False       # pass only local maxima of the stage-1 map to stage 2 (faster)
    chained_pyramid: bool = False    # resize each pyramid level from the previous one (faster)
    peak_size: int = 3               # neighbourhood (cells, square) of those local maxima
    score_floor: float = -5.0        # windows below this logit are never reported, whatever min_score says
    # windows reaching this many px (of the 36-px window) past every image border, the pixels beyond it
    # edge-replicated: faces cut by the border (rounded up to the 4-px stride, so interior windows are unchanged)
    border_pad: int = 0
    # pad only the levels whose window is at most this fraction of the image's shorter side (0: every level): a
    # large window past the border can take in two faces
    border_pad_max_window: float = 0.0
    # drop a box holding this many reported boxes (each ``containment``, or 0.75, inside it): a large window over
    # a group of faces can score as a face (0: off)
    group_holds: int = 0
    # box calibration: window (x, y, s) -> box (x + bx*s, y + by*s, bw*s, bh*s)
    box: list = field(default_factory=lambda: [0.0, 0.0, 1.0, 1.0])
    tuned_on: str = ""


def load_detector_files(weights_dir, prefix: str, model: str, config_cls):
    """(``<prefix>.keras`` model, the inference config from ``<prefix>.json``) of a trained detector. Both are
    required: without its config a detector would run with untuned thresholds and an uncalibrated box, so a
    missing or unreadable file is a clear error naming it (never a silent default)."""
    d = Path(weights_dir) if weights_dir else WEIGHTS_DIR
    retrain = f"facelab train detection --model {model}"
    return load_keras(d / f"{prefix}.keras", retrain), config_cls.load(d / f"{prefix}.json", retrain)


def _predict(model, batch: np.ndarray, pad_to: int | None = None) -> np.ndarray:
    """The window classifier on uint8 images (N, H, W[, 1]) of any size, in float32 (the thresholds and the box
    calibration were fitted in float32), through the one compiled-inference cache."""
    x = batch[..., None] if batch.ndim == 3 else batch
    return predict_batches(model, x, batch_size=max(len(x), 1), precision="float32", pad_to=pad_to)


def _map_size(n: int) -> int:
    """Score-map length of the window classifier on an input of length ``n`` (valid 3x3 convolutions, two
    flooring 2x2 poolings, a valid 5x5 convolution)."""
    return max(0, (((n - 2) // 2 - 2) // 2) - 6)


def _round_up(n: int, to: int) -> int:
    return -(-n // to) * to


def _pack_levels(levels: list[np.ndarray]):
    """Pack pyramid levels into one canvas (origins on the 4-px stride grid) so the first stage scores the
    whole pyramid in one call. Why hand-written: one call instead of one per level, and a canvas rounded to 64 px
    lets oneDNN reuse its convolution plans across images, which per-level shapes defeat (together about half
    of the first stage's time here). First-fit decreasing-height shelves, for a few canvas widths; the smallest
    canvas wins."""
    sizes = [(_round_up(lv.shape[0] + STRIDE, STRIDE), _round_up(lv.shape[1] + STRIDE, STRIDE)) for lv in levels]
    best = None
    for width in {_round_up(int(sizes[0][1] * f), 64) for f in (1.0, 1.25, 1.5, 1.75, 2.0)}:
        width = max(width, sizes[0][1])
        shelves, origins = [], []  # shelf: [y, height, used width]
        for h, w in sizes:
            shelf = next((sh for sh in shelves if sh[2] + w <= width), None)
            if shelf is None:
                shelf = [shelves[-1][0] + shelves[-1][1] if shelves else 0, h, 0]
                shelves.append(shelf)
            origins.append((shelf[0], shelf[2]))
            shelf[2] += w
        height = shelves[-1][0] + shelves[-1][1]
        area = _round_up(height, 64) * _round_up(width, 64)
        if best is None or area < best[0]:
            best = (area, (_round_up(height, 64), _round_up(width, 64)), origins)
    canvas = np.zeros(best[1], np.uint8)
    for (y0, x0), lv in zip(best[2], levels):
        canvas[y0:y0 + lv.shape[0], x0:x0 + lv.shape[1]] = lv
    return canvas, best[2]


def _stage1_maps(model, levels: list[np.ndarray]) -> list[np.ndarray]:
    """The first stage's score map of every level, from one forward pass over the packed canvas. Cells whose
    receptive field lies inside a level equal that level's own map (origins are multiples of the stride)."""
    canvas, origins = _pack_levels(levels)
    full = _predict(model, canvas[None])[0, :, :, 0]
    return [full[y0 // STRIDE:y0 // STRIDE + _map_size(lv.shape[0]), x0 // STRIDE:x0 // STRIDE + _map_size(lv.shape[1])]
            for (y0, x0), lv in zip(origins, levels)]


class CNNDetector(Detector):
    """Image pyramid + fully convolutional CNN (+ optional tiny first stage) + NMS + calibrated box."""

    name = "cnn"

    def __init__(self, stage2=None, stage1=None, config: CNNConfig | None = None, min_score: float | None = None,
                 cascade: bool = True, raw_windows: bool = False):
        self.config = config or CNNConfig()
        self.default_min_score = self.config.min_score
        super().__init__(min_score)
        self.stage2, self.stage1 = stage2, stage1
        self.cascade = cascade and stage1 is not None
        self.raw_windows = raw_windows  # keep every window (no NMS, no calibration): for the notebook's figures

    @classmethod
    def load(cls, weights_dir=None, prefix: str = "detection_cnn", **kw) -> "CNNDetector":
        stage2, config = load_detector_files(weights_dir, prefix, "cnn", CNNConfig)
        # the first stage is optional (a detector trained without the cascade), but the shipped one has it
        f1 = (Path(weights_dir) if weights_dir else WEIGHTS_DIR) / f"{prefix}_stage1.keras"
        stage1 = load_keras(f1) if f1.exists() or not weights_dir else None
        return cls(stage2, stage1, config, **kw)

    def search_min_face(self, pixels: float) -> None:
        """Search only for faces at least ``pixels`` wide (never below the trained ``min_face``): fewer and smaller
        pyramid levels, the speed knob of the video pipeline."""
        if not pixels > 0:
            raise ValueError(f"min_face must be a positive number of pixels, not {pixels!r}")
        self.config = replace(self.config, min_face=max(float(pixels), self.config.min_face))

    # ------------------------------------------------------------ pyramid
    def pyramid(self, grey: np.ndarray):
        """Yield (scale, resized image): scale = resized size / original size; the 36 px window at that
        level covers 36/scale px of the input, starting with a window matched to ``min_face``."""
        H, W = grey.shape
        bw = self.config.box[2] if self.config.box else 1.0
        s = WIN * bw / self.config.min_face  # box width = bw * window: a min_face box needs a 36*bw/min_face scale
        prev = grey
        while H * s >= WIN and W * s >= WIN:
            size = (max(WIN, int(round(W * s))), max(WIN, int(round(H * s))))
            interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
            # each level is resized from the previous one once below the input's size (a third of the resizing
            # work of starting from the input every time; INTER_AREA still averages the pixels it drops)
            src = prev if self.config.chained_pyramid and prev.shape[1] >= size[0] else grey
            prev = cv2.resize(src, size, interpolation=interp)
            yield size[0] / W, size[1] / H, prev
            s /= self.config.scale_step

    def windows(self, image: np.ndarray) -> np.ndarray:
        """Every scored window as (N, 5) x, y, side, side, logit in input pixels (before NMS)."""
        grey = as_grey(image)
        pad = _round_up(max(0, int(self.config.border_pad)), STRIDE)
        levels = list(self.pyramid(grey))
        limit = self.config.border_pad_max_window * min(grey.shape)
        pads = [pad if pad and (not limit or WIN / sx <= limit) else 0 for sx, _, _ in levels]
        # a multiple of the stride: the padded level's windows are the unpadded ones plus a border ring
        levels = [(sx, sy, np.pad(lv, q, mode="edge") if q else lv) for (sx, sy, lv), q in zip(levels, pads)]
        if not levels:
            return np.zeros((0, 5))
        if self.cascade:
            maps = _stage1_maps(self.stage1, [lv for _, _, lv in levels])
        geo, crops, scores = [], [], []  # per level: (x, y, sx, sy) of its windows; their crops or logits
        for k, ((sx, sy, level), level_pad) in enumerate(zip(levels, pads)):
            if self.cascade:
                m1 = maps[k]
                passed = m1 > self.config.stage1_threshold
                if self.config.stage1_peaks:  # only local maxima of the stage-1 map go on
                    n = self.config.peak_size
                    passed &= m1 >= cv2.dilate(m1, np.ones((n, n), np.uint8))
                ii, jj = np.nonzero(passed)
                if not len(ii):
                    continue
                # the network's receptive field is 34 px (pooling floors drop the 36-px patch's last 2 rows and
                # columns), so the score map can hold a window whose 36-px crop passes the border by 2 px: pad
                padded = np.pad(level, ((0, STRIDE), (0, STRIDE)), mode="edge")
                views = np.lib.stride_tricks.sliding_window_view(padded, (WIN, WIN))[::STRIDE, ::STRIDE]
                crops.append(views[ii, jj])
            else:
                m2 = _predict(self.stage2, level[None])[0, :, :, 0]
                ii, jj = np.indices(m2.shape).reshape(2, -1)
                scores.append(m2.reshape(-1))
            geo.append(np.stack([(jj * STRIDE - level_pad) / sx, (ii * STRIDE - level_pad) / sy,
                                 np.full(len(ii), WIN / sx), np.full(len(ii), WIN / sy)], 1))
        if not geo:
            return np.zeros((0, 5))
        if self.cascade:  # the second stage sees the survivors of every level in one batch
            allc = np.concatenate(crops)
            logits = np.concatenate([_predict(self.stage2, allc[k:k + 4096], pad_to=64).reshape(-1)
                                     for k in range(0, len(allc), 4096)])
        else:
            logits = np.concatenate(scores)
        win = np.concatenate([np.concatenate(geo), logits[:, None]], 1)
        if not self.raw_windows:
            win = win[win[:, 4] >= max(self.min_score, self.config.score_floor)]
        return win

    def calibrate(self, win: np.ndarray) -> np.ndarray:
        bx, by, bw, bh = self.config.box
        s = win[:, 2]
        return np.stack([win[:, 0] + bx * s, win[:, 1] + by * s, bw * s, bh * s], 1)

    def postprocess(self, win: np.ndarray) -> np.ndarray:
        """Windows (N, 5) -> detections (K, 5) x, y, w, h, score after threshold, NMS and box calibration."""
        win = win[win[:, 4] >= self.min_score]
        if not len(win):
            return np.zeros((0, 5))
        boxes = self.calibrate(win)
        keep = nms(boxes, win[:, 4], self.config.nms_iou)
        boxes, scores = boxes[keep], win[keep, 4]
        if self.config.containment:
            k2 = containment_suppression(boxes, scores, self.config.containment)
            boxes, scores = boxes[k2], scores[k2]
        if self.config.group_holds:
            k3 = group_suppression(boxes, self.config.containment or 0.75, self.config.group_holds)
            boxes, scores = boxes[k3], scores[k3]
        return np.concatenate([boxes, scores[:, None]], 1)

    def _detect(self, image: np.ndarray) -> list[Detection]:
        win = self.windows(image)
        if self.raw_windows:
            return [Detection(tuple(w[:4]), float(w[4])) for w in win]
        return [Detection(tuple(map(float, d[:4])), float(d[4])) for d in self.postprocess(win)]
