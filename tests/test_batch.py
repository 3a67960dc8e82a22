"""Batch analysis (`facelab analyze PATH... [--dask ADDRESS] [--jsonl FILE]`): the Dask run gives the
single-process run's JSON byte for byte, one model load per worker, rows written as they arrive and kept by a
killed run, a bad file reported without losing the others, an unreachable scheduler one clear line.

The collection: six real LFW photographs (three people), a file that is not an image, and a 12-frame video
ASSEMBLED from a non-face scene with an LFW head pasted on it (see tests/test_video.py)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from facelab.pipeline import batch

PEOPLE = ("Colin_Powell", "George_W_Bush", "Tony_Blair")


@pytest.fixture(scope="module")
def collection(data_home, tmp_path_factory):
    import cv2

    from facelab.data import list_non_face_scenes
    from facelab.preprocess import read_image

    folder = tmp_path_factory.mktemp("collection")
    for name in PEOPLE:
        for k in (1, 2):
            shutil.copy(data_home / "lfw" / "lfw" / name / f"{name}_{k:04d}.jpg", folder)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    scene = cv2.resize(read_image(list_non_face_scenes(data_home)[0], "bgr"), (320, 240))
    head = cv2.resize(read_image(data_home / "lfw" / "lfw" / PEOPLE[0] / f"{PEOPLE[0]}_0001.jpg", "bgr")[40:210, 40:210],
                      (110, 110))
    writer = cv2.VideoWriter(str(folder / "walk.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (320, 240))
    for t in range(12):
        frame = scene.copy()
        x = 20 + 12 * t
        frame[60:170, x:x + 110] = head
        writer.write(frame)
    writer.release()
    return folder


def _rows(doc):
    return [batch.row_line(r) for r in doc["images"] + doc["videos"]]


def _cli(*argv):
    from facelab.cli import main

    return main(list(argv))


@pytest.fixture(scope="module")
def single_run(collection, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "rows.jsonl"
    proc = subprocess.run([sys.executable, "-m", "facelab.cli", "analyze", str(collection), "--json", "--jsonl", str(out)],
                          capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 1, proc.stderr   # the broken file: exit 1, every other file analysed
    return json.loads(proc.stdout), out


def test_the_single_process_run_reports_the_bad_file_and_keeps_the_others(single_run):
    doc, jsonl = single_run
    by_name = {os.path.basename(r["image"]): r for r in doc["images"]}
    assert set(by_name) == {f"{p}_{k:04d}.jpg" for p in PEOPLE for k in (1, 2)} | {"broken.jpg"}
    assert "broken.jpg" in by_name["broken.jpg"]["error"]
    assert all(len(r["faces"]) >= 1 for n, r in by_name.items() if n != "broken.jpg")
    (video,) = doc["videos"]
    assert video["frames_read"] == 12 and len(video["tracks"]) == 1 and "frames_per_s" not in video
    lines = jsonl.read_text().splitlines()
    assert len(lines) == 8 and all(json.loads(line) for line in lines)


def test_the_dask_run_gives_the_same_json_byte_for_byte_with_one_model_load_per_worker(collection, single_run,
                                                                                        tmp_path):
    single, _ = single_run
    jsonl = tmp_path / "rows.jsonl"
    proc = subprocess.run([sys.executable, "-m", "facelab.cli", "analyze", str(collection), "--json", "--dask", "local:2",
                           "--jsonl", str(jsonl)],
                          capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert _rows(doc) == _rows(single)
    workers = doc["dask"]["workers"]
    assert len(workers) == 2 and sum(w["files"] for w in workers.values()) == 8
    assert all(w["model_loads"] == (1 if w["files"] else 0) for w in workers.values())
    # rows on disk in finishing order: the same set of lines
    assert sorted(jsonl.read_text().splitlines()) == sorted(_rows(single))


def test_a_resumed_run_skips_the_files_already_written_and_a_cut_last_line(collection, single_run, tmp_path, capsys):
    single, full = single_run
    jsonl = tmp_path / "rows.jsonl"
    good = [line for line in full.read_text().splitlines() if '"error"' not in line]
    jsonl.write_text("\n".join(good[:3]) + "\n" + good[3][: len(good[3]) // 2])   # as a kill leaves it
    assert _cli("analyze", str(collection), "--json", "--jsonl", str(jsonl)) == 1
    captured = capsys.readouterr()
    assert "3 file(s) already analysed" in captured.err
    doc = json.loads(captured.out)
    assert doc["resumed_from_jsonl"] == 3 and _rows(doc) == _rows(single)
    parsed = []
    for line in jsonl.read_text().splitlines():
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            parsed.append(None)
    assert parsed.count(None) == 1 and len(parsed) == 3 + 1 + 5   # the cut line stays, unread; 5 files rerun


def test_a_killed_run_keeps_the_rows_already_written(collection, tmp_path):
    jsonl = tmp_path / "rows.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "facelab.cli", "analyze", str(collection), "--jsonl", str(jsonl)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    deadline = time.time() + 120
    while time.time() < deadline and (not jsonl.exists() or jsonl.read_text().count("\n") < 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lines = jsonl.read_text().splitlines()
    assert len(lines) >= 2
    assert all("image" in json.loads(line) or "video" in json.loads(line) for line in lines[:2])


@pytest.mark.unit
def test_an_unreachable_scheduler_is_one_clear_line():
    from facelab.errors import FacelabError

    with pytest.raises(FacelabError, match=r"Dask scheduler tcp://127\.0\.0\.1:9: cannot connect"):
        batch.connect("tcp://127.0.0.1:9", timeout="1s")
    with pytest.raises(FacelabError, match="local:N"):
        batch.connect("local:two")
