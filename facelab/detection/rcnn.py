"""facelab's R-CNN detector (Girshick et al., 2014), scaled down to faces.

1. Region proposals: selective search (fast mode) on the image shrunk to ``max_side`` (400 px as shipped), plus a
   square copy of each.
2. Each region, grown by 1.5x for context, is warped to 48x48 grey and passed through a CNN (a 36x36
   face/non-face classifier fine-tuned on warped regions) run fully convolutionally: its 64-channel
   penultimate map (4x4 positions) is the feature. Max- and mean-pooled over the positions (128-d) it feeds
   the SVM (tolerant to a proposal that sits a little off the face); flattened (1024-d, keeps where the face
   is) it feeds the box regression.
3. A linear SVM (scikit-learn ``LinearSVC``, two rounds of hard-negative mining, as in the original) scores the
   regions; class-specific box regression (ridge) moves each box towards the face, three times in a row
   (iterative refinement), and every moved box is scored again (a region keeps its best score).
4. Non-maximum suppression (IoU 0.3), then a box is also dropped when 80 % of the smaller of the two lies
   inside a better-scoring box (a face inside a head-and-shoulders region, or the reverse).
The SVM and the regression are stored as Dense layers inside ``detection_rcnn.keras`` (no pickle).
Every region goes through the CNN separately, which is why R-CNN is slow and why later detectors
(Fast/Faster R-CNN, SSD) share one convolutional pass over the whole image, as facelab's CNN detector does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Detection, Detector, JsonConfig, as_grey
from .cnn import load_detector_files
from .nms import iomin_suppression, nms
from .proposals import selective_search, warp_regions

WIN = 48   # warp size of a region (the CNN's window is 36: a 4x4 map of window positions)


@dataclass
class RCNNConfig(JsonConfig):
    max_side: int = 300
    nms_iou: float = 0.3
    iomin: float = 0.8          # also drop a box when this fraction of the smaller box lies in a better one (0 = off)
    iterations: int = 3         # box regression steps (each moved box is scored again)
    warp: int = WIN
    score_floor: float = -1.5   # regions below this SVM margin are never refined or reported, whatever min_score says
    min_score: float = 0.0      # SVM margin
    box_regression: bool = True
    rescore: bool = True        # re-score the regressed boxes (max of both SVM scores)
    context: float = 1.5        # warp a box this many times larger than the proposal (R-CNN's 1.15 padding; 1.5 chosen on
    #                             the detection validation split: the sweep beside train.RCNN_PROFILES)
    tuned_on: str = ""


def apply_deltas(boxes: np.ndarray, d: np.ndarray) -> np.ndarray:
    """R-CNN box regression: (tx, ty, tw, th) relative to the proposal's centre and size."""
    cx = boxes[:, 0] + boxes[:, 2] / 2 + d[:, 0] * boxes[:, 2]
    cy = boxes[:, 1] + boxes[:, 3] / 2 + d[:, 1] * boxes[:, 3]
    w = boxes[:, 2] * np.exp(np.clip(d[:, 2], -1, 1))
    h = boxes[:, 3] * np.exp(np.clip(d[:, 3], -1, 1))
    return np.stack([cx - w / 2, cy - h / 2, w, h], 1)


def dilate(boxes: np.ndarray, factor: float) -> np.ndarray:
    """Grow boxes about their centre (context around the region, as R-CNN's 16-pixel padding)."""
    if factor == 1.0:
        return boxes
    c = boxes[:, :2] + boxes[:, 2:] / 2
    wh = boxes[:, 2:] * factor
    return np.concatenate([c - wh / 2, wh], 1)


def box_targets(props: np.ndarray, gts: np.ndarray) -> np.ndarray:
    return np.stack([(gts[:, 0] + gts[:, 2] / 2 - props[:, 0] - props[:, 2] / 2) / props[:, 2],
                     (gts[:, 1] + gts[:, 3] / 2 - props[:, 1] - props[:, 3] / 2) / props[:, 3],
                     np.log(gts[:, 2] / props[:, 2]), np.log(gts[:, 3] / props[:, 3])], 1)


def feature_model(classifier, size: int = WIN):
    """The CNN classifier cut before its last layer, run fully convolutionally on a ``size`` x ``size`` region:
    (B, size, size, 1) -> [(B, 128) max+mean pooled features (SVM), (B, k*k*64) flattened map (regression)]."""
    import keras
    from keras import layers

    inp = keras.Input((size, size, 1), name="region")
    x = inp
    for layer in classifier.layers[1:]:
        if layer.name == "logit":
            break
        if isinstance(layer, layers.Dropout):
            continue
        x = layer(x)
    pooled = layers.Concatenate(name="pooled")([layers.GlobalMaxPooling2D(name="max_pool")(x),
                                                layers.GlobalAveragePooling2D(name="mean_pool")(x)])
    return keras.Model(inp, [pooled, layers.Flatten(name="map")(x)], name="rcnn_features")


def head_model(features, svm_w, svm_b, reg_w, reg_b, size: int = WIN):
    """Features + the linear SVM (on the pooled features) and the box regression (on the flattened map) as
    Dense layers, in one Keras model."""
    import keras
    from keras import layers

    inp = keras.Input((size, size, 1), name="region")
    pooled, flat = features(inp)
    svm = layers.Dense(1, name="svm")
    reg = layers.Dense(4, name="bbox_regression")
    out = [svm(pooled), reg(flat)]
    m = keras.Model(inp, out, name="rcnn")
    svm.set_weights([np.asarray(svm_w, np.float32).reshape(-1, 1), np.asarray(svm_b, np.float32).reshape(1)])
    reg.set_weights([np.asarray(reg_w, np.float32).reshape(-1, 4), np.asarray(reg_b, np.float32).reshape(4)])
    return m


class RCNNDetector(Detector):
    name = "rcnn"

    def __init__(self, model=None, config: RCNNConfig | None = None, min_score: float | None = None):
        self.config = config or RCNNConfig()
        self.default_min_score = self.config.min_score
        super().__init__(min_score)
        self.model = model

    @classmethod
    def load(cls, weights_dir=None, prefix: str = "detection_rcnn", **kw) -> "RCNNDetector":
        model, config = load_detector_files(weights_dir, prefix, "rcnn", RCNNConfig)
        return cls(model, config, **kw)

    def proposals(self, image) -> np.ndarray:
        return selective_search(image, max_side=self.config.max_side)

    def score_regions(self, grey, props):
        if not len(props):
            return np.zeros(0), np.zeros((0, 4))
        crops = warp_regions(grey, dilate(props, self.config.context), self.config.warp)
        scores, deltas = [], []
        for k in range(0, len(crops), 1024):
            s, d = self.model(crops[k:k + 1024, :, :, None].astype(np.float32), training=False)
            scores.append(np.asarray(s).reshape(-1))
            deltas.append(np.asarray(d).reshape(-1, 4))
        return np.concatenate(scores), np.concatenate(deltas)

    def refinement_steps(self, image, steps: int):
        """Yield (boxes, scores) after each of ``steps`` box-regression steps (one yield, the kept proposals, when
        box regression is off): the regions above the floor, each step moving every box and scoring it again (a
        region keeps its best score; rescoring was chosen in an earlier round on a CMU+MIT half). :meth:`_detect`
        takes the last; the validation choice of the step count
        (:func:`facelab.detection.train.choose_rcnn_inference`) takes each in one pass."""
        grey = as_grey(image)
        boxes = self.proposals(image)
        scores, deltas = self.score_regions(grey, boxes)
        keep = scores >= max(self.min_score, self.config.score_floor)
        boxes, scores, deltas = boxes[keep], scores[keep], deltas[keep]
        if not self.config.box_regression:
            yield boxes, scores
            return
        for step in range(max(1, steps)):
            if len(boxes):
                boxes = apply_deltas(boxes, deltas)
                # without rescoring, the moved box is scored only for the next step's deltas
                if self.config.rescore or step < steps - 1:
                    again, deltas = self.score_regions(grey, boxes)
                    scores = np.maximum(scores, again) if self.config.rescore else scores
            yield boxes, scores

    def suppress(self, boxes, scores, iomin: float) -> list[Detection]:
        """NMS, then drop a box when ``iomin`` of the smaller of it and a better box lies inside the other (0: off)."""
        if not len(boxes):
            return []
        k = nms(boxes, scores, self.config.nms_iou)
        if iomin:
            k = k[iomin_suppression(boxes[k], scores[k], iomin)]
        return [Detection(tuple(map(float, boxes[i])), float(scores[i])) for i in k]

    def _detect(self, image) -> list[Detection]:
        *_, (boxes, scores) = self.refinement_steps(image, self.config.iterations)
        return self.suppress(boxes, scores, self.config.iomin)
