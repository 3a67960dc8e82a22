"""Linking the faces of successive frames into tracks: :class:`Tracker`.

Each frame's detections are matched to the live tracks by one assignment over a cost that mixes the overlap of the
boxes (IoU against where the track is expected, its last box moved by its recent velocity) and the cosine similarity
of the pipeline's embeddings (the track keeps its last few embeddings and takes the best match). A pair is allowed
only when the face looks like the track (similarity at least ``min_similarity``, so two people who cross keep their
own tracks even while their boxes overlap) and either overlaps it or, for a track not seen in the last frame, looks
very like it (``reid_similarity``) and is near where it was. A track that finds no face is *lost*; for up to
``max_lost`` processed frames it can still be resumed (re-identification after a short occlusion), then it ends.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

#: the cost of a pair the gates forbid (any allowed pair costs at most 2)
_FORBIDDEN = 1e6


def iou_matrix(a, b) -> np.ndarray:
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4), boxes as (x, y, w, h)."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    ax0, ay0, ax1, ay1 = a[:, 0:1], a[:, 1:2], a[:, 0:1] + a[:, 2:3], a[:, 1:2] + a[:, 3:4]
    bx0, by0, bx1, by1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0, None)
    ih = np.clip(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0, None)
    inter = iw * ih
    union = a[:, 2:3] * a[:, 3:4] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _unit(v) -> np.ndarray:
    v = np.asarray(v, np.float32).reshape(-1)
    return v / max(float(np.linalg.norm(v)), 1e-12)


@dataclass
class Track:
    """One face followed through the video: its id (from 1, in order of appearance), the processed frames it was
    seen in with its boxes and scores, and the state the matching uses (last embeddings, velocity, lost count)."""

    id: int
    frames: list = field(default_factory=list)         # frame indices where the face was seen
    boxes: list = field(default_factory=list)          # (x, y, w, h) per seen frame
    scores: list = field(default_factory=list)
    lost: int = 0                                      # processed frames since it was last seen
    resumed: int = 0                                   # times it came back after being lost
    bank: deque = field(default_factory=lambda: deque(maxlen=8), repr=False)   # last unit embeddings
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2), repr=False)

    @property
    def last_box(self) -> np.ndarray:
        return np.asarray(self.boxes[-1], float)

    def expected_box(self, steps: int = 1) -> np.ndarray:
        """The last box moved ``steps`` processed frames along the track's velocity."""
        box = self.last_box.copy()
        box[:2] += self.velocity * steps
        return box

    def similarity(self, unit_embedding: np.ndarray) -> float:
        """Best cosine similarity of an embedding (unit length) to the track's last embeddings (0 without any)."""
        if not self.bank:
            return 0.0
        return float(np.max(np.stack(self.bank) @ unit_embedding))

    def add(self, frame: int, box, score: float, unit_embedding) -> None:
        box = np.asarray(box, float)
        if self.boxes:
            gap = max(1, frame - self.frames[-1])
            step = (box[:2] - self.last_box[:2]) / gap
            self.velocity = step if len(self.boxes) == 1 else 0.5 * self.velocity + 0.5 * step
        if self.lost:
            self.resumed += 1
        self.frames.append(int(frame))
        self.boxes.append(tuple(float(v) for v in box))
        self.scores.append(float(score))
        if unit_embedding is not None:
            self.bank.append(unit_embedding)
        self.lost = 0


class Tracker:
    """Frame-by-frame face tracker (call :meth:`update` once per processed frame, in order).

    ``max_lost``: processed frames a track may go unseen and still be resumed; ``min_similarity``: the least
    embedding similarity for any match; ``reid_similarity``: the similarity that resumes a track without box overlap
    (within ``reid_distance`` box sizes of its expected place); ``min_iou``: the overlap that counts as "near" for a
    track seen in the previous frame; ``iou_weight``: the weight of IoU against similarity in the cost.
    """

    def __init__(self, max_lost: int = 10, min_similarity: float = 0.3, reid_similarity: float = 0.5,
                 min_iou: float = 0.1, reid_distance: float = 3.0, iou_weight: float = 0.5):
        self.max_lost, self.min_similarity, self.reid_similarity = max_lost, min_similarity, reid_similarity
        self.min_iou, self.reid_distance, self.iou_weight = min_iou, reid_distance, iou_weight
        self.active: list[Track] = []      # seen or lost for at most max_lost frames
        self.finished: list[Track] = []    # ended, waiting to be collected by :meth:`pop_finished`
        self._next_id = 1

    def _cost(self, boxes: np.ndarray, units: np.ndarray) -> np.ndarray:
        n, m = len(self.active), len(boxes)
        cost = np.full((n, m), _FORBIDDEN)
        if not n or not m:
            return cost
        expected = np.stack([t.expected_box(t.lost + 1) for t in self.active])
        iou = iou_matrix(expected, boxes)
        # best similarity to each track's last embeddings; a track without any (no embedder) neither blocks a
        # match by overlap nor can be resumed by looks
        sim = np.stack([(np.stack(t.bank) @ units.T).max(axis=0) if t.bank else np.full(m, self.min_similarity)
                        for t in self.active])
        centres_t = expected[:, :2] + expected[:, 2:] / 2
        centres_d = boxes[:, :2] + boxes[:, 2:] / 2
        size = np.maximum(expected[:, 2:3], expected[:, 3:4])
        distance = np.linalg.norm(centres_t[:, None, :] - centres_d[None, :, :], axis=2) / np.maximum(size, 1.0)
        lost = np.array([t.lost for t in self.active])[:, None]
        near = iou >= self.min_iou
        # a lost track may be resumed away from its last box, if the face is very like it and not far off
        reid = (sim >= self.reid_similarity) & (distance <= self.reid_distance * (1 + lost))
        allowed = (sim >= self.min_similarity) & (near | reid)
        score = self.iou_weight * iou + (1 - self.iou_weight) * sim
        cost[allowed] = 1.0 - score[allowed]
        return cost

    def update(self, frame: int, boxes, scores=None, embeddings=None) -> list[int]:
        """Match one frame's detections (boxes (M, 4), scores (M,), embeddings (M, D)) to the tracks; returns the
        track id of each detection, in order. A detection no track takes starts a new track."""
        boxes = np.asarray(boxes, float).reshape(-1, 4)
        m = len(boxes)
        scores = np.ones(m) if scores is None else np.asarray(scores, float)
        units = (np.stack([_unit(e) for e in embeddings]) if embeddings is not None and m
                 else np.zeros((m, 1), np.float32))
        cost = self._cost(boxes, units)
        # One optimal assignment (Hungarian, scipy) instead of greedy best-first: when two faces cross, the greedy
        # choice of the single best pair can take the other person's face and leave the right pair forbidden.
        rows, cols = linear_sum_assignment(cost) if cost.size else (np.zeros(0, int), np.zeros(0, int))
        ids = [0] * m
        taken = set()
        for r, c in zip(rows, cols):
            if cost[r, c] >= _FORBIDDEN:
                continue
            track = self.active[r]
            track.add(frame, boxes[c], scores[c], units[c] if embeddings is not None else None)
            ids[c] = track.id
            taken.add(r)
        for r, track in enumerate(self.active):
            if r not in taken:
                track.lost += 1
        for c in range(m):
            if not ids[c]:
                track = Track(self._next_id)
                self._next_id += 1
                track.add(frame, boxes[c], scores[c], units[c] if embeddings is not None else None)
                self.active.append(track)
                ids[c] = track.id
        still = []
        for track in self.active:
            (self.finished if track.lost > self.max_lost else still).append(track)
        self.active = still
        return ids

    def pop_finished(self) -> list[Track]:
        """The tracks that ended since the last call (their face unseen for more than ``max_lost`` frames)."""
        done, self.finished = self.finished, []
        return done

    def close(self) -> list[Track]:
        """End every track (the video is over); returns the ones not collected yet."""
        done = self.pop_finished() + self.active
        self.active = []
        return sorted(done, key=lambda t: t.id)
