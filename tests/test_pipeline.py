"""The application pipeline: one detect-and-crop path whose crops match the crops the models were trained on,
FaceAnalyzer / facelab.analyze on real photos, and the analyze / verify / identify / gallery commands."""
from __future__ import annotations

import json

import numpy as np
import pytest

from facelab.cli import main
from facelab.pipeline.framing import Framing


@pytest.mark.unit
def test_framing_maps_a_box_to_a_square():
    fr = Framing(dx=0.1, dy=-0.2, scale=0.5)
    x, y, w, h = fr.crop_box((10, 20, 100, 50))
    assert w == h == 50
    assert (x + w / 2, y + h / 2) == pytest.approx((10 + 50 + 10, 20 + 25 - 10))


def _lfw(data_home, name, k):
    return str(data_home / "lfw" / "lfw" / name / f"{name}_{k:04d}.jpg")


@pytest.fixture(scope="module")
def analyzer():
    from facelab.pipeline.analyzer import FaceAnalyzer

    return FaceAnalyzer()


def test_the_detector_path_cuts_the_crop_the_embedding_was_trained_on(data_home, analyzer):
    """On whole LFW photos the detected face's crop embeds like the LFW crop itself (before the framing was
    calibrated: cosine 0.16-0.34 between the two embeddings of one photo)."""
    from facelab.pipeline.openset import central_face_embeddings, crop_vectors

    photos = [_lfw(data_home, n, 1) for n in ("Gerhard_Schroeder", "Donald_Rumsfeld", "Colin_Powell",
                                              "Hugo_Chavez", "Ariel_Sharon", "Jennifer_Aniston")]
    vecs, found = central_face_embeddings(analyzer, photos)
    assert found.all()
    crop = crop_vectors("cnn", photos)
    same = [float(np.dot(v / np.linalg.norm(v), crop[p])) for p, v in zip(photos, vecs)]
    assert min(same) > 0.7, same
    others = [float(np.dot(vecs[0] / np.linalg.norm(vecs[0]), crop[p])) for p in photos[1:]]
    assert max(others) < min(same)  # a photo is nearer its own crop than other people's


def test_analyze_gives_every_face_its_expression_and_affect(data_home, analyzer):
    import facelab
    from facelab.data import FER_LABELS

    scene = data_home / "cmu_mit_frontal_faces" / "test_scenes" / "test" / "Argentina.gif"
    (result,) = analyzer.analyze([scene])
    assert result.error is None and len(result.faces) >= 5
    assert [f.number for f in result.faces] == list(range(1, len(result.faces) + 1))
    for f in result.faces:
        assert f.expression in FER_LABELS and f.valence in ("negative", "neutral", "positive")
        assert f.arousal in ("low", "high") and f.identity is None and f.embedding.shape == (256,)
    one = facelab.analyze(str(scene))  # the one-call form gives the same faces
    assert [f.box for f in one.faces] == [f.box for f in result.faces]
    assert {"read", "detect", "crop", "embed", "expression", "emotion"} <= set(analyzer.timings)


def test_a_bad_image_is_reported_and_the_others_go_on(data_home, analyzer, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really")
    results = analyzer.analyze([bad, _lfw(data_home, "Colin_Powell", 2)], ("identity",))
    assert "broken.jpg" in results[0].error and results[1].error is None and len(results[1].faces) == 1


def _json(capsys, argv, code=0):
    assert main(argv) == code
    return json.loads(capsys.readouterr().out)


def test_gallery_identify_verify_through_the_cli(data_home, tmp_path, capsys):
    db = str(tmp_path / "faces.db")
    for name in ("Colin_Powell", "Tony_Blair"):
        out = _json(capsys, ["gallery", "enroll", name, *[_lfw(data_home, name, k) for k in (1, 2, 3)], "--db", db,
                             "--json"])
        assert out["created"] and out["total"] == 3
    listed = _json(capsys, ["gallery", "list", "--db", db, "--json"])
    assert [p["name"] for p in listed["people"]] == ["Colin_Powell", "Tony_Blair"]
    assert listed["model"]["model"] == "cnn"
    probes = [_lfw(data_home, "Colin_Powell", 10), _lfw(data_home, "Donald_Rumsfeld", 1)]
    rows = _json(capsys, ["identify", *probes, "--db", db, "--json"])
    assert [r["image"] for r in rows] == probes
    # Colin_Powell_0010 also shows a bearded man at the left edge, half behind a hand: a real face, not enrolled
    powell, *others = sorted(rows[0]["faces"], key=lambda f: -f["box"][2] * f["box"][3])
    (rumsfeld,) = rows[1]["faces"]
    assert powell["identity"]["name"] == "Colin_Powell" and set(powell["identity"]) == {"name", "similarity", "confidence"}
    assert len(others) <= 1 and all(f["identity"] == "unknown" for f in others)
    assert rumsfeld["identity"] == "unknown" and len(powell["box"]) == 4
    same = _json(capsys, ["verify", _lfw(data_home, "Tony_Blair", 11), _lfw(data_home, "Tony_Blair", 12), "--json"])
    assert {"same_person", "similarity", "threshold", "confidence"} <= set(same)
    assert 0 <= same["confidence"] <= 1 and same["threshold"] == pytest.approx(0.3787, abs=0.05)
    # clear one-line errors: a duplicate enrolment, an unknown name, a probe without a face
    assert main(["gallery", "enroll", "Tony_Blair", _lfw(data_home, "Tony_Blair", 1), "--db", db]) == 2
    assert "Tony_Blair" in capsys.readouterr().err
    assert main(["gallery", "remove", "Nobody", "--db", db]) == 2
    assert "Nobody" in capsys.readouterr().err
    blank = tmp_path / "blank.png"
    import cv2

    cv2.imwrite(str(blank), np.full((200, 200), 128, np.uint8))
    rows = _json(capsys, ["identify", str(blank), "--db", db, "--json"])
    assert rows[0]["faces"] == [] and rows[0]["note"] == "no face found"
    assert main(["verify", str(blank), _lfw(data_home, "Tony_Blair", 1)]) == 2
    assert "blank.png: no face found" in capsys.readouterr().err


def test_analyze_cli_json_and_annotated_copies_never_overwrite(data_home, tmp_path, capsys):
    photo = _lfw(data_home, "Colin_Powell", 3)
    out = tmp_path / "out"
    first = _json(capsys, ["analyze", photo, photo, "--out", str(out), "--json"])
    written = [im["annotated"] for im in first["images"]]
    assert len(set(written)) == 2 and all((out / w.rsplit("/", 1)[-1]).is_file() for w in written)
    (face,) = first["images"][0]["faces"]
    assert {"face", "box", "score", "expression", "expression_scores", "valence", "arousal"} <= set(face)
    assert {"detect", "embed"} <= set(first["seconds_per_stage"])
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    assert main(["analyze", photo, "--out", str(not_a_folder)]) == 2
    assert "file.txt" in capsys.readouterr().err


@pytest.mark.unit
def test_the_open_set_threshold_rises_with_the_gallery_so_false_accepts_stay_per_probe(tmp_path):
    from facelab.gallery import OpenSetRule, open_gallery

    table = ((1e-2, 0.40), (1e-3, 0.50), (1e-4, 0.60), (1e-5, 0.70))
    rule = OpenSetRule(threshold=0.40, slope=10.0, intercept=-4.0, far=0.01, far_table=table)
    assert rule.for_comparisons(1) is rule
    assert rule.for_comparisons(10).threshold == pytest.approx(0.50, abs=0.005)  # 1 - 0.99^(1/10) ~ 1.0e-3
    assert rule.for_comparisons(100).threshold == pytest.approx(0.60, abs=0.005)
    thresholds = [rule.for_comparisons(n).threshold for n in (2, 30, 300, 3000, 10 ** 6)]
    assert thresholds == sorted(thresholds) and thresholds[-1] == 0.70  # past the table: its strictest row
    assert OpenSetRule(0.4, 10.0, -4.0, far=0.01).for_comparisons(500).threshold == 0.4  # no table: as it is
    # in a gallery: a probe at similarity 0.55 to one of 100 enrolled people is accepted with one person enrolled
    rng = np.random.default_rng(0)
    target = rng.normal(size=64)
    target /= np.linalg.norm(target)
    noise = rng.normal(size=64)
    noise -= noise.dot(target) * target
    probe = 0.55 * target + np.sqrt(1 - 0.55 ** 2) * noise / np.linalg.norm(noise)
    with open_gallery(tmp_path / "one.db", rule=rule) as small:
        small.enroll("Ada", target[None], "m", "v1", ["a" * 64])
        assert small.identify(probe, "m", "v1")[0].name == "Ada"
    with open_gallery(tmp_path / "many.db", rule=rule) as big:
        big.enroll("Ada", target[None], "m", "v1", ["a" * 64])
        others = rng.normal(size=(99, 64))
        for k, v in enumerate(others):
            big.enroll(f"p{k}", v[None], "m", "v1", [f"{k:064x}"])
        (decision,) = big.identify(probe, "m", "v1")
        assert decision.name is None and decision.candidate == "Ada"  # the threshold for 100 comparisons is 0.60


def test_min_face_drops_small_faces_and_shrinks_the_cnn_pyramid(data_home):
    """The video speed knob: faces narrower than min_face are not reported, and the CNN detector searches fewer,
    smaller pyramid levels (never below its trained smallest face)."""
    import cv2

    from facelab.pipeline.analyzer import FaceAnalyzer
    from facelab.preprocess import read_image

    full, big_only = FaceAnalyzer(expression=None, emotion=None), FaceAnalyzer(expression=None, emotion=None,
                                                                               min_face=90)
    photo = read_image(_lfw(data_home, "Colin_Powell", 1), "bgr")
    small = cv2.resize(photo, (125, 125))                       # the face about 55 px wide
    canvas = np.full((300, 420, 3), 120, np.uint8)
    canvas[20:270, 0:250], canvas[80:205, 280:405] = photo, small
    widths = lambda a: sorted(round(d.box[2]) for _, _, dets in a.detect([canvas]) for d in dets)
    assert len(widths(full)) == 2 and min(widths(full)) < 90
    assert len(widths(big_only)) == 1 and widths(big_only)[0] >= 90
    grey = cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY)
    assert len(list(big_only.detector.pyramid(grey))) < len(list(full.detector.pyramid(grey)))
    before = full.detector.config.min_face
    full.detector.search_min_face(5)                             # below the trained one: kept at the trained one
    assert full.detector.config.min_face == before
    with pytest.raises(ValueError):
        full.detector.search_min_face(0)
