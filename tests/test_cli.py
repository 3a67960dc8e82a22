"""The `facelab` command line: data commands, JSON output, one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from facelab.cli import main


def test_data_list_json(data_home, capsys):
    assert main(["data", "list", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    by_name = {d["name"]: d for d in out["datasets"]}
    assert set(by_name) == {"orl_att_faces", "lfw", "fer2013", "cmu_mit_frontal_faces", "dlib_faces_boxes",
                            "caltech_web_faces_crops", "non_face_scenes"}
    assert all(d["found"] for d in by_name.values())
    assert by_name["orl_att_faces"]["images"] == 400 and by_name["orl_att_faces"]["identities"] == 40
    assert by_name["lfw"]["splits"]["pairsDevTest.txt"] == "1000 pairs"
    assert by_name["caltech_web_faces_crops"]["images"] == 6713


def test_data_list_text_for_missing_home(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FACELAB_DATA", str(tmp_path))
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert out.count("MISSING") == 7 and "how to obtain" in out and str(tmp_path) in out


def test_prepare_fer_from_official_csv(data_home, tmp_path, capsys):
    out = tmp_path / "fer.npz"
    assert main(["data", "prepare", "fer2013", "--csv", str(data_home / "fer2013/fer2013_sample_official.csv"),
                 "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] == str(out)
    with np.load(out) as z:
        assert z["train_x"].shape == (140, 48, 48) and z["val_x"].shape == (60, 48, 48)


def test_bad_csv_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "broken.csv"
    bad.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    assert main(["data", "prepare", "fer2013", "--csv", str(bad), "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("facelab: error:") and "broken.csv: line 2" in err and "Traceback" not in err
    assert not (tmp_path / "x.npz").exists()


def test_help_lists_commands():
    res = subprocess.run([sys.executable, "-m", "facelab.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0
    for word in ("data", "bench", "report", "train", "eval", "FACELAB_DATA"):
        assert word in res.stdout


def test_a_file_name_that_is_not_utf8_is_printed_and_the_files_after_it_still_run(tmp_path, data_home):
    """With a UTF-8 stdout, a name holding the byte 0xff used to raise UnicodeEncodeError and stop the run."""
    import os
    import shutil

    src = data_home / "lfw" / "lfw" / "Colin_Powell" / "Colin_Powell_0001.jpg"
    odd = os.path.join(os.fsencode(tmp_path), b"caf\xff.jpg")
    shutil.copy(src, odd)
    good = tmp_path / "after.jpg"
    shutil.copy(src, good)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "TF_CPP_MIN_LOG_LEVEL": "3"}
    for extra in ([], ["--json"]):
        run = subprocess.run([sys.executable, "-m", "facelab.cli", "detect", "--model", "haar", *extra, os.fsdecode(odd),
                              str(good)], capture_output=True, env=env, timeout=300)
        out = run.stdout.decode("utf-8")
        assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
        if extra:
            out = "\n".join(item["image"] for item in json.loads(out))
        assert "caf\\xff.jpg" in out and "after.jpg" in out  # the odd byte shown as an escape, the next file run
