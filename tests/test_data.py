"""The data layer on the real data sets: counts as SOURCES.md states them, official formats, bad input."""
from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

from facelab import data
from facelab.errors import BadInputError, DatasetNotFoundError


def test_orl_counts_and_classic_split(data_home):
    orl = data.load_orl()
    assert orl.images.shape == (400, 112, 92) and orl.images.dtype == np.uint8
    assert np.bincount(orl.labels).tolist() == [10] * 40
    assert len({im.tobytes() for im in orl.images}) == 400  # all distinct, as SOURCES.md says
    assert round(float(orl.images.mean()), 1) == 110.9
    train, test = data.split_orl(orl)
    assert len(train) == len(test) == 200
    assert all(p.endswith(("/1.pgm", "/2.pgm", "/3.pgm", "/4.pgm", "/5.pgm")) for p in train.paths)


def test_lfw_people_filters(data_home):
    from facelab.data.lfw import people_counts

    counts = people_counts()
    assert sum(counts.values()) == 7805 and len(counts) == 3105
    assert sum(c >= 20 for c in counts.values()) == 62
    assert sum(c for c in counts.values() if c >= 20) == 3023
    lfw70 = data.load_lfw_people(min_faces_per_person=70, progress=False)
    assert len(lfw70) == 1288 and len(lfw70.names) == 7
    assert dict(zip(lfw70.names, np.bincount(lfw70.labels)))["George_W_Bush"] == 530
    assert lfw70.images.shape[1:] == (250, 250)


@pytest.mark.parametrize("name,total,same", [("pairsDevTrain.txt", 2200, 1100), ("pairsDevTest.txt", 1000, 500)])
def test_view1_pairs_parse_to_official_counts(data_home, name, total, same):
    pairs = data.read_pairs(data_home / "lfw" / name)
    assert len(pairs) == total and sum(p.same for p in pairs) == same
    assert all(p.name1 == p.name2 for p in pairs if p.same)
    a, b, y = data.pair_paths(pairs)
    assert all(x.exists() for x in a + b) and y.sum() == same


def test_view2_format_with_folds(data_home, tmp_path):
    """pairs.txt (View 2): header `folds N`, each fold N same then N different; built from real names."""
    dev = data.read_pairs(data_home / "lfw" / "pairsDevTest.txt")
    same = [p for p in dev if p.same][:6]
    diff = [p for p in dev if not p.same][:6]
    lines = ["3\t2"]
    for f in range(3):
        lines += [f"{p.name1}\t{p.number1}\t{p.number2}" for p in same[2 * f:2 * f + 2]]
        lines += [f"{p.name1}\t{p.number1}\t{p.name2}\t{p.number2}" for p in diff[2 * f:2 * f + 2]]
    f = tmp_path / "pairs.txt"
    f.write_text("\n".join(lines) + "\n")
    pairs = data.read_pairs(f, root=data_home)
    assert len(pairs) == 12 and [p.fold for p in pairs] == [0] * 4 + [1] * 4 + [2] * 4
    assert [p.same for p in pairs[:4]] == [True, True, False, False]


def test_pairs_bad_input_names_file_and_line(data_home, tmp_path):
    f = tmp_path / "pairs.txt"
    f.write_text("1\nAaron_Peirsol\t1\t99\nAbdullah_Gul\t13\tAaron_Peirsol\t1\n")
    with pytest.raises(BadInputError, match=r"pairs.txt: line 2: names image .*Aaron_Peirsol_0099.jpg"):
        data.read_pairs(f)
    f.write_text("2\nAaron_Peirsol\t1\t2\n")
    with pytest.raises(BadInputError, match="header announces 4 pairs"):
        data.read_pairs(f)
    f.write_text("1\nAaron_Peirsol\tone\t2\nA\t1\tB\t2\n")
    with pytest.raises(BadInputError, match="line 2"):
        data.read_pairs(f)


def test_fer2013_counts_match_official(data_home):
    fer = data.load_fer2013()
    assert np.bincount(fer["train"].y).tolist() == [3995, 436, 4097, 7215, 4830, 3171, 4965]
    assert np.bincount(fer["val"].y).tolist() == [467, 56, 496, 895, 653, 415, 607]
    assert fer["train"].x.shape == (28709, 48, 48)
    dup = data.train_val_duplicates(fer)
    assert dup.sum() == 351  # 351 Training images copy 280 PublicTest images (SOURCES.md)


def test_every_sample_csv_row_is_in_the_npz_with_its_label(data_home):
    rows = data.read_fer_csv(data_home / "fer2013" / "fer2013_sample_official.csv")
    assert len(rows["train"]) == 140 and len(rows["val"]) == 60
    fer = data.load_fer2013()
    for split in ("train", "val"):
        index = {}
        for x, y in zip(fer[split].x, fer[split].y):
            index.setdefault(x.tobytes(), set()).add(int(y))
        for x, y in zip(rows[split].x, rows[split].y):
            assert int(y) in index[x.tobytes()]


def _write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["emotion", "pixels", "Usage"])
        w.writerows(rows)


def test_fer_csv_malformed_rows(tmp_path):
    good = " ".join(["7"] * 2304)
    f = tmp_path / "fer.csv"
    _write_csv(f, [[3, good, "Training"], [2, " ".join(["1"] * 100), "Training"]])
    with pytest.raises(BadInputError, match=r"fer.csv: line 3: 100 pixel values, expected 2304"):
        data.read_fer_csv(f)
    _write_csv(f, [[9, good, "Training"]])
    with pytest.raises(BadInputError, match="line 2: emotion 9 outside 0..6"):
        data.read_fer_csv(f)
    _write_csv(f, [[1, good, "Validation"]])
    with pytest.raises(BadInputError, match="unknown Usage 'Validation'"):
        data.read_fer_csv(f)
    f.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(BadInputError, match="header"):
        data.read_fer_csv(f)


def test_prepare_cache_roundtrip_and_private_test(tmp_path):
    px = np.arange(2304) % 256
    f = tmp_path / "fer.csv"
    _write_csv(f, [[3, " ".join(map(str, px)), "Training"], [0, " ".join(map(str, px[::-1])), "PrivateTest"]])
    out = data.prepare_cache(f, tmp_path / "cache" / "fer2013.npz")
    loaded = data.load_fer2013(npz=out)
    assert set(loaded) == {"train", "test"}
    assert loaded["train"].x[0].ravel().tolist() == px.tolist() and loaded["test"].y.tolist() == [0]


def test_prepare_cache_writes_nothing_on_bad_csv(tmp_path):
    f = tmp_path / "fer.csv"
    _write_csv(f, [[3, "1 2 3", "Training"]])
    with pytest.raises(BadInputError):
        data.prepare_cache(f, tmp_path / "out" / "fer2013.npz")
    assert not (tmp_path / "out" / "fer2013.npz").exists()


def test_cmu_mit_sets_a_b(data_home):
    items = data.load_cmu_mit()
    assert len(items) == 76 and sum(len(i["boxes"]) for i in items) == 326
    assert sum(len(i["boxes"]) == 0 for i in items) == 13
    for it in items:  # clipped to the image
        if len(it["boxes"]):
            assert (it["boxes"][:, :2] >= 0).all() and (it["boxes"][:, 2:] > 0).all()
    marks = data.read_cmu_landmarks()
    per_section = {k: sum(len(v) for v in s.values()) for k, s in marks.items()}
    assert sorted(per_section.values()) == [157, 169, 223]  # sets B, A and the rotated set


def test_dlib_caltech_nonface(data_home):
    tr, te = data.load_dlib_boxes("training"), data.load_dlib_boxes("testing")
    assert (len(tr), sum(len(i["boxes"]) for i in tr)) == (4, 18)
    assert (len(te), sum(len(i["boxes"]) for i in te)) == (5, 25)
    lm = data.load_dlib_boxes("testing", landmarks=True)
    assert lm[0]["landmarks"].shape[1:] == (68, 2)
    crops = data.load_caltech_crops(limit=50)
    assert crops.shape == (50, 36, 36)
    assert len(data.list_non_face_scenes()) == 274


def test_boxes_file_bad_lines(tmp_path):
    f = tmp_path / "boxes.txt"
    f.write_text("a.jpg 1 2 30 40\nb.jpg 1 2 3\n")
    with pytest.raises(BadInputError, match="boxes.txt: line 2"):
        data.read_boxes_file(f)
    f.write_text("a.jpg 10 2 5 40\n")
    with pytest.raises(BadInputError, match="empty box"):
        data.read_boxes_file(f)


def test_missing_data_home_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("FACELAB_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetNotFoundError) as err:
        data.load_orl()
    assert "nowhere" in str(err.value) and "orl_att_faces" in str(err.value)
    status = data.list_datasets()
    assert not any(s["found"] for s in status) and all(s["how"] for s in status)


def test_checksums_verify_and_catch_a_changed_file(data_home, tmp_path):
    ok = data.dataset_status("orl_att_faces", verify=True)
    assert ok["checksums"] == "ok"
    copy = tmp_path / "orl_att_faces"
    shutil.copytree(data_home / "orl_att_faces", copy)
    (copy / "att_faces" / "s1" / "1.pgm").write_bytes(b"P5 changed")
    bad = data.dataset_status("orl_att_faces", root=tmp_path, verify=True)
    assert bad["checksums"] == "FAILED"
    assert bad["checksum_detail"][0]["mismatched"] == ["att_faces/s1/1.pgm"]


def test_fetch_without_official_download_explains(data_home):
    from facelab.errors import FacelabError

    with pytest.raises(FacelabError, match="Kaggle"):
        data.fetch("fer2013")
    with pytest.raises(FacelabError, match="unknown data set"):
        data.fetch("imagenet")


def test_checksum_list_naming_itself_still_verifies(data_home):
    # the Caltech SHA256SUMS.txt lists its own hash, which no file can match
    assert data.dataset_status("caltech_web_faces_crops", verify=True)["checksums"] == "ok"


def test_fer_without_checksums_is_checked_by_official_counts(data_home):
    st = data.dataset_status("fer2013", verify=True)
    assert st["official_counts"] is True and "match the official release" in st["checksums"]
