"""Video with face tracks: the frame source, the tracker and :func:`facelab.pipeline.video.analyze_video`.

The videos here are ASSEMBLED, not filmed: a non-face scene photo from the data home (resized to 640x480) as the
background, with the head of two real LFW photographs (Colin Powell, George W. Bush) pasted on it, moving across the
frame and crossing each other (the second drawn over the first where they overlap), written with
``cv2.VideoWriter`` as MJPG .avi into tmp_path. They are short (30-40 frames) so the file runs in well under a
minute on one core.
"""
from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

from facelab.errors import BadInputError
from facelab.pipeline.tracking import Tracker, iou_matrix
from facelab.pipeline.video import read_frames

W, H, SIDE = 640, 480, 130
PEOPLE = ("Colin_Powell", "George_W_Bush")


def _photo(data_home, name, k=1):
    return str(data_home / "lfw" / "lfw" / name / f"{name}_{k:04d}.jpg")


def _scene(data_home):
    import cv2

    from facelab.data import list_non_face_scenes
    from facelab.preprocess import read_image

    return cv2.resize(read_image(list_non_face_scenes(data_home)[0], "bgr"), (W, H))


def _head(data_home, name):
    import cv2

    from facelab.preprocess import read_image

    return cv2.resize(read_image(_photo(data_home, name), "bgr")[40:210, 40:210], (SIDE, SIDE))


def _write(path, frames):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (W, H))
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def crossing_frames(data_home, n=36):
    """Powell walks left to right, Bush right to left, at slightly different heights; they cross mid-video."""
    scene, a, b = _scene(data_home), _head(data_home, PEOPLE[0]), _head(data_home, PEOPLE[1])
    for t in range(n):
        frame = scene.copy()
        xa = int(30 + (W - SIDE - 60) * t / (n - 1))
        xb = int(W - SIDE - 30 - (W - SIDE - 60) * t / (n - 1))
        frame[150:150 + SIDE, xa:xa + SIDE] = a
        frame[200:200 + SIDE, xb:xb + SIDE] = b
        yield frame


def blank_gap_frames(data_home, n=30, gap=range(12, 16)):
    """Powell drifting right, gone (only the scene) for the frames in ``gap``, then back near where he was."""
    scene, a = _scene(data_home), _head(data_home, PEOPLE[0])
    for t in range(n):
        frame = scene.copy()
        if t not in gap:
            x = 120 + 6 * t
            frame[160:160 + SIDE, x:x + SIDE] = a
        yield frame


@pytest.fixture(scope="module")
def analyzer():
    from facelab.pipeline.analyzer import FaceAnalyzer

    return FaceAnalyzer(expression=None, emotion=None)


@pytest.fixture(scope="module")
def gallery(data_home, analyzer, tmp_path_factory):
    """Both people enrolled from other photos of each (the largest face of those of photos 2-5 where one is found)."""
    from facelab.gallery import image_sha256, open_gallery

    g = open_gallery(tmp_path_factory.mktemp("gallery") / "faces.db", rule=analyzer.open_set_rule())
    for name in PEOPLE:
        photos = [_photo(data_home, name, k) for k in (2, 3, 4, 5)]
        found = [(p, max(r.faces, key=lambda f: f.box[2] * f.box[3]).embedding)
                 for p, r in zip(photos, analyzer.analyze(photos, ("identity",))) if r.faces]
        assert len(found) >= 2
        g.enroll(name, np.stack([v for _, v in found]), analyzer.embedder_name, analyzer.model_version,
                 [image_sha256(p) for p, _ in found])
    return g


@pytest.fixture(scope="module")
def crossing(data_home, analyzer, gallery, tmp_path_factory):
    from facelab.pipeline.video import analyze_video

    folder = tmp_path_factory.mktemp("crossing")
    video = _write(folder / "crossing.avi", crossing_frames(data_home))
    return analyze_video(video, analyzer, gallery=gallery, out_dir=folder / "out"), video


def _centre_x(box):
    return box[0] + box[2] / 2


def test_two_people_crossing_keep_their_own_tracks_and_names(crossing):
    result, _ = crossing
    assert result.info.frames_read == 36 and result.frames_processed == 36
    assert len(result.tracks) == 2, [t.to_dict()["identity"] for t in result.tracks]
    names = set()
    for t in result.tracks:
        xs = [_centre_x(b) for b in t.boxes]
        # each track moves one way only: Powell's rightwards, Bush's leftwards, through the crossing
        # (a swap at the crossing would jump back by the width of a face)
        steps = np.diff(xs) * np.sign(xs[-1] - xs[0])
        assert steps.min() > -5 and abs(xs[-1] - xs[0]) > 300, xs
        assert t.identity != "unknown" and t.identity["votes"] >= 0.8 * len(t.frames), t.votes
        names.add(t.identity["name"])
        expected = PEOPLE[0] if xs[-1] > xs[0] else PEOPLE[1]
        assert t.identity["name"] == expected
        assert t.frames[0] <= 3 and t.frames[-1] >= 32  # the whole walk, not a fragment
    assert names == set(PEOPLE)


def test_the_json_per_track_and_the_annotated_video(crossing):
    import cv2

    result, video = crossing
    doc = json.loads(open(result.json_out).read())
    assert doc["frames_read"] == 36 and doc["detect_every"] == 1 and len(doc["tracks"]) == 2
    for t in doc["tracks"]:
        assert {"track", "first_frame", "last_frame", "identity", "votes", "expression", "valence", "arousal",
                "over_time", "boxes"} <= set(t)
        assert t["first_frame"] == t["boxes"][0]["frame"] and t["last_frame"] == t["boxes"][-1]["frame"]
        assert all(len(b["box"]) == 4 for b in t["boxes"])
        # windows of at most 24 frames, in time order, each with the LSTM's expression and the GRU's affect
        assert len(t["over_time"]) == 2 and all(w["frames_used"] <= 24 for w in t["over_time"])
        assert t["over_time"][0]["frames"][1] < t["over_time"][1]["frames"][0]
        for w in t["over_time"]:
            assert set(w["expression_scores"]) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
            assert abs(sum(w["expression_scores"].values()) - 1) < 1e-3
            assert w["valence"] in ("negative", "neutral", "positive") and w["arousal"] in ("low", "high")
    cap = cv2.VideoCapture(result.video_out)
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 36 and cap.read()[0]
    cap.release()
    out = result.video_out.rsplit("/", 1)[0]
    import os

    assert not [f for f in os.listdir(out) if "partial" in f]  # the temporary names were renamed


def test_a_face_gone_for_a_few_frames_is_resumed_on_its_track(data_home, analyzer, tmp_path):
    from facelab.pipeline.video import analyze_video

    video = _write(tmp_path / "gap.avi", blank_gap_frames(data_home))
    result = analyze_video(video, analyzer, expression=None, emotion=None)
    assert len(result.tracks) == 1, [t.frames for t in result.tracks]
    (track,) = result.tracks
    assert track.resumed == 1 and not set(range(12, 16)) & set(track.frames)
    assert track.frames[0] <= 1 and track.frames[-1] >= 28 and track.identity is None  # no gallery: no identity


@pytest.mark.unit
def test_the_tracker_uses_embeddings_at_a_crossing_and_drops_a_track_after_max_lost():
    """Synthetic boxes: two faces whose boxes overlap most at frame 2 keep their ids by their embeddings."""
    ea, eb = np.eye(4)[0], np.eye(4)[1]
    tracker = Tracker(max_lost=2)
    xs = [(0, 100), (30, 70), (50, 50), (70, 30), (100, 0)]
    seen = [tracker.update(f, [(xa, 0, 60, 60), (xb, 5, 60, 60)], [1, 1], [ea, eb]) for f, (xa, xb) in enumerate(xs)]
    assert all(ids == [1, 2] for ids in seen)
    # detections listed the other way round still go to the right tracks
    assert tracker.update(5, [(5, 5, 60, 60), (130, 0, 60, 60)], [1, 1], [eb, ea]) == [2, 1]
    for f in (6, 7, 8):
        tracker.update(f, [], [], None)
    assert [t.id for t in tracker.pop_finished()] == [1, 2] and not tracker.active
    assert tracker.update(9, [(130, 0, 60, 60)], [1], [ea]) == [3]  # too late: a new track
    assert iou_matrix([(0, 0, 10, 10)], [(5, 0, 10, 10), (20, 20, 5, 5)]).round(3).tolist() == [[0.333, 0.0]]


def test_a_truncated_video_yields_the_frames_it_had(data_home, tmp_path):
    video = _write(tmp_path / "whole.avi", crossing_frames(data_home, 30))
    data = video.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    frames = [f.index for f in read_frames(cut)]
    assert 5 <= len(frames) < 30 and frames == sorted(frames)
    # zeros over a stretch in the middle (damaged frames): the frames around it still come, in order
    damaged = bytearray(data)
    damaged[len(data) // 3: len(data) // 3 + 40000] = bytes(40000)
    (tmp_path / "damaged.avi").write_bytes(bytes(damaged))
    frames = [f.index for f in read_frames(tmp_path / "damaged.avi")]
    assert 20 <= len(frames) <= 30 and frames == sorted(frames) and frames[-1] >= 25


def test_an_unreadable_video_is_one_clear_error(tmp_path):
    not_video = tmp_path / "notes.avi"
    not_video.write_text("this is not a video\n" * 50)
    with pytest.raises(BadInputError, match="notes.avi: is not a video OpenCV can read"):
        next(read_frames(not_video))
    with pytest.raises(BadInputError, match="missing.mp4: no such video file"):
        next(read_frames(tmp_path / "missing.mp4"))
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    with pytest.raises(BadInputError, match="empty"):
        next(read_frames(empty))


def test_the_video_command_prints_one_line_for_an_unreadable_file(tmp_path, capsys):
    import argparse

    from facelab.cli import main
    from facelab.cli.video import cmd_analyze_video, register

    parser = argparse.ArgumentParser(prog="facelab")
    register(parser.add_subparsers(dest="command"), None, None)
    not_video = tmp_path / "notes.avi"
    not_video.write_text("x" * 1000)
    args = parser.parse_args(["video", str(not_video), "--every", "3", "--json"])
    assert args.func is cmd_analyze_video and args.every == 3 and args.gallery is None
    with pytest.raises(BadInputError, match="notes.avi"):
        cmd_analyze_video(args)
    # through the entry point (once the lead lists the "video" group): one line on stderr, exit 2
    import facelab.cli as cli

    if "video" in cli.COMMAND_GROUPS:
        assert main(["video", str(not_video)]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and "notes.avi" in lines[0]


def test_the_frame_source_holds_one_frame_at_a_time(data_home, tmp_path):
    """Memory stays flat: reading 40 frames through the generator never has more than two frames alive (the one
    being looked at and the one being decoded), where a list of them would hold forty."""
    video = _write(tmp_path / "long.avi", crossing_frames(data_home, 40))
    frame_bytes = W * H * 3
    tracemalloc.start()
    try:
        count = 0
        for frame in read_frames(video):
            count += 1
            assert frame.image.shape == (H, W, 3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 40 and peak < 3 * frame_bytes, peak
    assert iter(read_frames(video)) is not None and hasattr(read_frames(video), "__next__")
