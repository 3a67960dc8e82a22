"""Video with face tracks: :func:`read_frames` (a frame source) and :func:`analyze_video`.

The frame source streams frames from anything OpenCV's ``VideoCapture`` reads (a video file, a camera index, a
stream URL) one at a time: no frame is kept after the next is read, so memory stays flat however long the video.
A video that ends early or holds broken frames yields the frames it had; one that cannot be opened, or holds no
readable frame, is one :class:`~facelab.errors.BadInputError` naming it.

:func:`analyze_video` runs the frames through a :class:`~facelab.pipeline.analyzer.FaceAnalyzer` (its detector,
its embedding, the one crop path :func:`~facelab.pipeline.faces.model_crop`), links the faces into tracks
(:class:`~facelab.pipeline.tracking.Tracker`), and gives per track: the frame range and per-frame boxes, the
identity from a gallery by a vote over the track's frames, and the expression (the LSTM) and the affect (the GRU)
over the track's crops in time, in windows of up to 24 frames. Per track only the current window's 48x48 crops are
held; what grows with the video is the per-frame record of boxes that the JSON reports.
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import BadInputError
from .tracking import Tracker

#: frames in one window of the sequence models (what they were trained on)
WINDOW = 24
#: unreadable frames in a row after which a file or stream is taken to have ended
MAX_BAD_FRAMES = 5


@dataclass
class Frame:
    """One frame: its index in the source (from 0), its time in seconds, the BGR uint8 image."""

    index: int
    time: float
    image: np.ndarray


@dataclass
class VideoInfo:
    """What the source says of itself (fps and frame count are what its container claims; 0 when unknown), and,
    once read, how many frames came and how many could not be decoded."""

    source: str
    fps: float = 0.0
    width: int = 0
    height: int = 0
    claimed_frames: int = 0
    frames_read: int = 0
    bad_frames: int = 0
    ended_early: bool = False


def _source(source):
    """(what VideoCapture opens, how to name it): a camera index stays an int; a path must exist."""
    if isinstance(source, int):
        return source, f"camera {source}"
    text = os.fspath(source)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "://" in text:
        return text, text
    if text.isdigit() and not Path(text).exists():
        return int(text), f"camera {text}"
    path = Path(text)
    if not path.exists():
        raise BadInputError(text, "no such video file")
    if path.is_dir():
        raise BadInputError(text, "is a folder, not a video file")
    if path.stat().st_size == 0:
        raise BadInputError(text, "is empty (0 bytes), not a video")
    return text, text


def open_video(source, *, info: VideoInfo | None = None):
    """An opened ``cv2.VideoCapture`` for ``source`` and its :class:`VideoInfo`; one clear error when it does
    not open."""
    import cv2

    target, name = _source(source)
    cap = cv2.VideoCapture(target)
    if not cap.isOpened():
        cap.release()
        what = "cannot be opened as a video stream" if isinstance(target, int) or "://" in str(target) \
            else "is not a video OpenCV can read (unknown format or damaged header)"
        raise BadInputError(name, what)
    info = info or VideoInfo(name)
    info.source = name
    info.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    info.width, info.height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    info.claimed_frames = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
    return cap, info


def read_frames(source, *, max_frames: int | None = None, info: VideoInfo | None = None) -> Iterator[Frame]:
    """Frames of ``source`` (a video file, a camera index, a stream URL), one at a time, as a generator.

    A frame that does not decode is skipped (counted in ``info.bad_frames``); after :data:`MAX_BAD_FRAMES` in a
    row the source is taken to have ended, and the frames read so far are what it yields (``info.ended_early``
    when the container claimed more). A source that opens but yields no frame at all is a BadInputError.
    ``info``: a :class:`VideoInfo` to fill in as the frames come."""
    cap, info = open_video(source, info=info)
    fps = info.fps if info.fps > 0 else 25.0
    try:
        index = bad = 0
        while max_frames is None or info.frames_read < max_frames:
            try:
                ok, image = cap.read()
            except Exception:  # a decoder error some backends raise instead of returning False
                ok, image = False, None
            if not ok or image is None or image.size == 0:
                bad += 1
                if bad >= MAX_BAD_FRAMES or (info.claimed_frames and index + bad >= info.claimed_frames):
                    break
                info.bad_frames += 1
                index += 1
                continue
            bad = 0
            info.frames_read += 1
            yield Frame(index, index / fps, image)
            index += 1
    finally:
        cap.release()
    if info.claimed_frames and info.frames_read + info.bad_frames < info.claimed_frames:
        info.ended_early = True
    if info.frames_read == 0:
        raise BadInputError(info.source, "holds no readable frame (truncated or damaged video)")


# ---------------------------------------------------------------------------------------------- per-track results
@dataclass
class TrackResult:
    """What :func:`analyze_video` says of one track. ``frames`` are the processed frames it was seen in."""

    track: int
    frames: list = field(default_factory=list)
    boxes: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    resumed: int = 0
    identity: dict | str | None = None     # {"name", "votes", "frames_voted", "similarity"} / "unknown"; None: no gallery
    votes: dict = field(default_factory=dict)
    similarities: dict = field(default_factory=dict, repr=False)
    candidates: dict = field(default_factory=dict)  # frames refused as unknown: who came closest, how often
    windows: list = field(default_factory=list)   # one per window of up to 24 frames: expression, affect

    def to_dict(self) -> dict:
        out = {"track": self.track, "first_frame": self.frames[0], "last_frame": self.frames[-1],
               "frames_seen": len(self.frames), "resumed_after_loss": self.resumed}
        if self.identity is not None:
            out["identity"] = self.identity
            out["votes"] = dict(self.votes)
            if self.identity == "unknown" and self.candidates:
                name = max(self.candidates, key=self.candidates.get)
                out["candidate"] = {"name": name, "frames": self.candidates[name]}
        if self.windows:
            out["expression"] = Counter(w["expression"] for w in self.windows).most_common(1)[0][0]
            out["valence"] = Counter(w["valence"] for w in self.windows).most_common(1)[0][0]
            out["arousal"] = Counter(w["arousal"] for w in self.windows).most_common(1)[0][0]
        out["over_time"] = self.windows
        out["boxes"] = [{"frame": f, "box": [round(float(v), 2) for v in b], "score": round(float(s), 5)}
                        for f, b, s in zip(self.frames, self.boxes, self.scores)]
        return out


@dataclass
class VideoResult:
    """Every track of one video, what was read, the output files and the seconds per stage."""

    info: VideoInfo
    tracks: list[TrackResult]
    every: int = 1
    frames_processed: int = 0
    dropped_short_tracks: int = 0
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)
    video_out: str | None = None
    json_out: str | None = None

    def to_dict(self) -> dict:
        i = self.info
        return {"video": i.source, "fps": round(i.fps, 3), "width": i.width, "height": i.height,
                "frames_read": i.frames_read, "bad_frames": i.bad_frames, "ended_early": i.ended_early,
                "detect_every": self.every, "frames_processed": self.frames_processed,
                "frames_per_s": round(i.frames_read / self.seconds, 2) if self.seconds else None,
                "tracks": [t.to_dict() for t in self.tracks], "dropped_short_tracks": self.dropped_short_tracks,
                "seconds_per_stage": {k: round(v, 4) for k, v in self.timings.items()},
                "annotated_video": self.video_out, "json": self.json_out}


_SEQUENCE_MODELS: dict = {}


def _sequence_model(kind: str, name: str):
    """A sequence model from the affect registries, loaded once per process."""
    from ..affect import EMOTION_MODELS, EXPRESSION_MODELS
    from ..errors import FacelabError

    reg = EXPRESSION_MODELS if kind == "expression" else EMOTION_MODELS
    if not reg[name].extra.get("sequence"):
        raise FacelabError(f"{kind} model {name!r} is a frame model: video tracks take sequence models "
                           f"({', '.join(n for n, e in reg.items() if e.extra.get('sequence'))})")
    if (kind, name) not in _SEQUENCE_MODELS:
        _SEQUENCE_MODELS[kind, name] = reg.create(name)
    return _SEQUENCE_MODELS[kind, name], reg[name].inputs


def _unique(folder: Path, stem: str, suffix: str) -> Path:
    target, k = folder / f"{stem}{suffix}", 2
    while target.exists():
        target, k = folder / f"{stem}_{k}{suffix}", k + 1
    return target


class _Annotator:
    """The annotated copy, written frame by frame to a temporary name and renamed when complete."""

    def __init__(self, folder: Path, stem: str, fps: float, size: tuple[int, int]):
        import cv2

        self.final = _unique(folder, f"{stem}_tracks", ".avi")
        self.partial = self.final.with_name(f".{self.final.stem}.partial.avi")
        self.writer = cv2.VideoWriter(str(self.partial), cv2.VideoWriter_fourcc(*"MJPG"), fps or 25.0, size)
        if not self.writer.isOpened():
            raise BadInputError(self.partial, "the annotated video could not be opened for writing")
        self.size = size

    def write(self, image, labelled) -> None:
        import cv2

        frame = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size)
        else:
            frame = frame.copy()
        for track_id, box, label in labelled:
            x, y, w, h = (int(round(v)) for v in box)
            colour = tuple(int(c) for c in _COLOURS[track_id % len(_COLOURS)])
            cv2.rectangle(frame, (x, y), (x + w, y + h), colour, 2)
            cv2.putText(frame, label, (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
        self.writer.write(frame)

    def finish(self) -> str:
        self.writer.release()
        if not self.partial.is_file() or self.partial.stat().st_size == 0:
            raise BadInputError(self.partial, "the annotated video could not be written")
        os.replace(self.partial, self.final)
        return str(self.final)

    def abandon(self) -> None:
        self.writer.release()
        self.partial.unlink(missing_ok=True)


_COLOURS = [(0, 200, 0), (0, 128, 255), (255, 64, 64), (200, 0, 200), (0, 200, 200), (255, 200, 0)]


class _TrackState:
    """Per live track: the crops of its current window and the record it becomes."""

    def __init__(self, track_id: int):
        self.result = TrackResult(track_id)
        self.crops: list[np.ndarray] = []
        self.crop_frames: list[int] = []
        self.label = ""


def analyze_video(path, analyzer, gallery=None, out_dir=None, *, every: int = 1, window: int = WINDOW,
                  expression: str | None = "lstm", emotion: str | None = "gru", tracker: Tracker | None = None,
                  min_track_frames: int = 3, max_frames: int | None = None, vote_share: float = 0.5) -> VideoResult:
    """Faces of a video (file, camera index or stream URL) linked into tracks, with identity, expression and affect
    per track.

    ``analyzer``: the :class:`~facelab.pipeline.analyzer.FaceAnalyzer` whose detector and embedding are used (its
    frame models are not: the track's crops go to the sequence models ``expression`` (LSTM) and ``emotion`` (GRU)
    in windows of ``window`` (<= 24) frames; ``None`` skips one). ``gallery``: a Gallery or location (default: the
    analyzer's); a track's identity is the name most of its frames were identified as, when that is at least
    ``vote_share`` of them, else ``"unknown"``. ``every``: detect on every k-th frame only (the others are written
    to the annotated copy with the last boxes; the tracker counts processed frames). ``out_dir``: write there the
    annotated video (``<stem>_tracks.avi``) and the JSON (``<stem>_tracks.json``), each under a temporary name
    renamed when complete, never overwriting a file. Tracks seen in fewer than ``min_track_frames`` processed
    frames (a stray detection) are dropped and counted."""
    from .faces import model_crop

    if every < 1:
        raise ValueError("every must be at least 1")
    window = max(1, min(int(window), WINDOW))
    if gallery is not None:
        from ..gallery import Gallery, open_gallery

        gallery = gallery if isinstance(gallery, Gallery) else open_gallery(gallery, rule=analyzer.open_set_rule())
    else:
        gallery = analyzer.gallery
    tracker = tracker or Tracker()
    models = {}
    for kind, name in (("expression", expression), ("emotion", emotion)):
        if name:
            models[kind] = _sequence_model(kind, name)
    spec = next(iter(models.values()))[1] if models else None
    use_embeddings = bool(analyzer.embedder_name)

    timings: dict[str, float] = {}

    def timed(stage, t0):
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0

    states: dict[int, _TrackState] = {}
    done: list[TrackResult] = []
    dropped = 0

    def run_window(state: _TrackState) -> None:
        if not state.crops:
            return
        from ..affect.mapping import AROUSAL_LABELS, VALENCE_LABELS
        from ..data import FER_LABELS

        crops = np.stack(state.crops)
        entry = {"frames": [state.crop_frames[0], state.crop_frames[-1]], "frames_used": len(crops)}
        if "expression" in models:
            t0 = time.perf_counter()
            p = np.asarray(models["expression"][0].predict_sequence(crops)).reshape(-1)
            timed("expression", t0)
            entry["expression"] = FER_LABELS[int(p.argmax())]
            entry["expression_scores"] = {lab: round(float(v), 5) for lab, v in zip(FER_LABELS, p)}
        if "emotion" in models:
            t0 = time.perf_counter()
            pv, pa = (np.asarray(x).reshape(-1) for x in models["emotion"][0].predict_sequence(crops))
            timed("emotion", t0)
            entry["valence"], entry["arousal"] = VALENCE_LABELS[int(pv.argmax())], AROUSAL_LABELS[int(pa.argmax())]
            entry["affect_scores"] = {"valence": {lab: round(float(v), 5) for lab, v in zip(VALENCE_LABELS, pv)},
                                      "arousal": {lab: round(float(v), 5) for lab, v in zip(AROUSAL_LABELS, pa)}}
        state.result.windows.append(entry)
        state.label = " ".join(entry.get(k, "") for k in ("expression", "valence")).strip()
        state.crops, state.crop_frames = [], []

    def finish(track) -> None:
        nonlocal dropped
        state = states.pop(track.id)
        if len(track.frames) < min_track_frames:
            dropped += 1
            return
        run_window(state)
        r = state.result
        r.frames, r.boxes, r.scores, r.resumed = list(track.frames), list(track.boxes), list(track.scores), track.resumed
        if gallery is not None:
            r.identity = _vote(r, vote_share)
        done.append(r)

    info = VideoInfo(str(path))
    annotator = None
    out_dir = Path(out_dir) if out_dir is not None else None
    stem = Path(str(path)).stem if not isinstance(path, int) else f"camera{path}"
    processed = 0
    labelled: list = []
    before = dict(analyzer.timings)
    t_start = time.perf_counter()
    try:
        t0 = time.perf_counter()
        for frame in read_frames(path, max_frames=max_frames, info=info):
            timed("read", t0)
            image = frame.image
            if out_dir is not None and annotator is None:
                out_dir.mkdir(parents=True, exist_ok=True)
                annotator = _Annotator(out_dir, stem, info.fps, (image.shape[1], image.shape[0]))
            if frame.index % every == 0:
                processed += 1
                detected = analyzer.detect([image])
                dets = detected[0][2]
                vecs = analyzer.embed(detected) if dets and use_embeddings else None
                t1 = time.perf_counter()
                ids = tracker.update(frame.index, [d.box for d in dets], [d.score for d in dets], vecs)
                timed("track", t1)
                decisions = [None] * len(dets)
                if gallery is not None and vecs is not None and len(dets):
                    t1 = time.perf_counter()
                    decisions = gallery.identify(vecs, analyzer.embedder_name, analyzer.model_version)
                    timed("identify", t1)
                labelled = []
                for d, tid, dec in zip(dets, ids, decisions):
                    state = states.get(tid) or states.setdefault(tid, _TrackState(tid))
                    if dec is not None:
                        name = dec.name or "unknown"
                        state.result.votes[name] = state.result.votes.get(name, 0) + 1
                        if dec.name:
                            state.result.similarities.setdefault(name, []).append(float(dec.similarity))
                        elif dec.candidate is not None:
                            state.result.candidates[dec.candidate] = state.result.candidates.get(dec.candidate, 0) + 1
                    if spec is not None:
                        t1 = time.perf_counter()
                        state.crops.append(model_crop(image, d.box, spec, analyzer.detector.name))
                        state.crop_frames.append(frame.index)
                        timed("crop", t1)
                        if len(state.crops) >= window:
                            run_window(state)
                    who = max(state.result.votes, key=state.result.votes.get) if state.result.votes else ""
                    labelled.append((tid, d.box, " ".join(t for t in (f"#{tid}", who, state.label) if t)))
                for track in tracker.pop_finished():
                    finish(track)
            if annotator is not None:
                t1 = time.perf_counter()
                annotator.write(image, labelled)
                timed("write", t1)
            t0 = time.perf_counter()
        for track in tracker.close():
            finish(track)
        video_out = annotator.finish() if annotator is not None else None
    except BaseException:
        if annotator is not None:
            annotator.abandon()
        raise
    for stage, seconds in analyzer.timings.items():  # the analyzer's own stages (read of an array, detect, embed)
        if stage != "read":
            timings[stage] = timings.get(stage, 0.0) + seconds - before.get(stage, 0.0)
    result = VideoResult(info, sorted(done, key=lambda r: r.track), every, processed, dropped,
                         time.perf_counter() - t_start, timings, video_out)
    if out_dir is not None:
        target = _unique(out_dir, f"{stem}_tracks", ".json")
        result.json_out = str(target)
        partial = target.with_name(f".{target.stem}.partial.json")
        partial.write_text(json.dumps(result.to_dict(), indent=2, default=str))
        os.replace(partial, target)
    return result


def _vote(r: TrackResult, share: float):
    """The track's identity: the name most of its frames were identified as, when that is at least ``share`` of
    the frames that voted; else "unknown"."""
    named = {k: v for k, v in r.votes.items() if k != "unknown"}
    total = sum(r.votes.values())
    if not named or not total:
        return "unknown"
    name = max(named, key=named.get)
    if named[name] < share * total:
        return "unknown"
    sims = r.similarities.get(name, [])
    return {"name": name, "votes": named[name], "frames_voted": total,
            "similarity": round(float(np.mean(sims)), 5) if sims else None}
