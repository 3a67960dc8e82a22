"""The data layer on the real data sets: counts as SOURCES.md states them, official formats, bad input."""
from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

from facelab import data
from facelab.errors import BadInputError, DatasetNotFoundError


@pytest.mark.data
def test_orl_counts_and_classic_split(data_home):
    orl = data.load_orl()
    assert orl.images.shape == (400, 112, 92) and orl.images.dtype == np.uint8
    assert np.bincount(orl.labels).tolist() == [10] * 40
    assert len({im.tobytes() for im in orl.images}) == 400  # all distinct, as SOURCES.md says
    assert round(float(orl.images.mean()), 1) == 110.9
    train, test = data.split_orl(orl)
    assert len(train) == len(test) == 200
    assert all(p.endswith(("/1.pgm", "/2.pgm", "/3.pgm", "/4.pgm", "/5.pgm")) for p in train.paths)


@pytest.mark.data
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


@pytest.mark.data
@pytest.mark.parametrize("name,total,same", [("pairsDevTrain.txt", 2200, 1100), ("pairsDevTest.txt", 1000, 500)])
def test_view1_pairs_parse_to_official_counts(data_home, name, total, same):
    pairs = data.read_pairs(data_home / "lfw" / name)
    assert len(pairs) == total and sum(p.same for p in pairs) == same
    assert all(p.name1 == p.name2 for p in pairs if p.same)
    a, b, y = data.pair_paths(pairs)
    assert all(x.exists() for x in a + b) and y.sum() == same


@pytest.mark.data
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


@pytest.mark.data
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


@pytest.mark.data
def test_fer2013_counts_match_official(data_home):
    fer = data.load_fer2013()
    assert np.bincount(fer["train"].y).tolist() == [3995, 436, 4097, 7215, 4830, 3171, 4965]
    assert np.bincount(fer["val"].y).tolist() == [467, 56, 496, 895, 653, 415, 607]
    assert fer["train"].x.shape == (28709, 48, 48)
    dup = data.train_val_duplicates(fer)
    assert dup.sum() == 351  # 351 Training images copy 280 PublicTest images (SOURCES.md)


@pytest.mark.data
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


@pytest.mark.unit
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


@pytest.mark.unit
def test_prepare_cache_roundtrip_and_private_test(tmp_path):
    px = np.arange(2304) % 256
    f = tmp_path / "fer.csv"
    _write_csv(f, [[3, " ".join(map(str, px)), "Training"], [0, " ".join(map(str, px[::-1])), "PrivateTest"]])
    out = data.prepare_cache(f, tmp_path / "cache" / "fer2013.npz")
    loaded = data.load_fer2013(npz=out)
    assert set(loaded) == {"train", "test"}
    assert loaded["train"].x[0].ravel().tolist() == px.tolist() and loaded["test"].y.tolist() == [0]


@pytest.mark.unit
def test_prepare_cache_writes_nothing_on_bad_csv(tmp_path):
    f = tmp_path / "fer.csv"
    _write_csv(f, [[3, "1 2 3", "Training"]])
    with pytest.raises(BadInputError):
        data.prepare_cache(f, tmp_path / "out" / "fer2013.npz")
    assert not (tmp_path / "out" / "fer2013.npz").exists()


@pytest.mark.data
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


@pytest.mark.data
def test_dlib_caltech_nonface(data_home):
    tr, te = data.load_dlib_boxes("training"), data.load_dlib_boxes("testing")
    assert (len(tr), sum(len(i["boxes"]) for i in tr)) == (4, 18)
    assert (len(te), sum(len(i["boxes"]) for i in te)) == (5, 25)
    lm = data.load_dlib_boxes("testing", landmarks=True)
    assert lm[0]["landmarks"].shape[1:] == (68, 2)
    crops = data.load_caltech_crops(limit=50)
    assert crops.shape == (50, 36, 36)
    assert len(data.list_non_face_scenes()) == 274


@pytest.mark.unit
def test_boxes_file_bad_lines(tmp_path):
    f = tmp_path / "boxes.txt"
    f.write_text("a.jpg 1 2 30 40\nb.jpg 1 2 3\n")
    with pytest.raises(BadInputError, match="boxes.txt: line 2"):
        data.read_boxes_file(f)
    f.write_text("a.jpg 10 2 5 40\n")
    with pytest.raises(BadInputError, match="empty box"):
        data.read_boxes_file(f)


@pytest.mark.unit
def test_missing_data_home_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("FACELAB_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetNotFoundError) as err:
        data.load_orl()
    assert "nowhere" in str(err.value) and "orl_att_faces" in str(err.value)
    status = data.list_datasets()
    assert not any(s["found"] for s in status) and all(s["how"] for s in status)


@pytest.mark.data
def test_checksums_verify_and_catch_a_changed_file(data_home, tmp_path):
    ok = data.dataset_status("orl_att_faces", verify=True)
    assert ok["checksums"] == "ok"
    copy = tmp_path / "orl_att_faces"
    shutil.copytree(data_home / "orl_att_faces", copy)
    (copy / "att_faces" / "s1" / "1.pgm").write_bytes(b"P5 changed")
    bad = data.dataset_status("orl_att_faces", root=tmp_path, verify=True)
    assert bad["checksums"] == "FAILED"
    assert bad["checksum_detail"][0]["mismatched"] == ["att_faces/s1/1.pgm"]


@pytest.mark.data
def test_fetch_without_official_download_explains(data_home):
    from facelab.errors import FacelabError

    with pytest.raises(FacelabError, match="Kaggle"):
        data.fetch("fer2013")
    with pytest.raises(FacelabError, match="unknown data set"):
        data.fetch("imagenet")


@pytest.mark.data
def test_checksum_list_naming_itself_still_verifies(data_home):
    # the Caltech SHA256SUMS.txt lists its own hash, which no file can match
    assert data.dataset_status("caltech_web_faces_crops", verify=True)["checksums"] == "ok"


@pytest.mark.data
def test_fer_without_checksums_is_checked_by_official_counts(data_home):
    st = data.dataset_status("fer2013", verify=True)
    assert st["official_counts"] is True and "match the official release" in st["checksums"]


# ---------------------------------------------------------------- text inputs: one clear error with file and line
GOOD_PIXELS = " ".join(["7"] * 2304)
FER_HEADER = "emotion,pixels,Usage\n"


@pytest.mark.unit
@pytest.mark.parametrize("content,problem", [
    ((FER_HEADER + f"3,{GOOD_PIXELS},Training\n").encode() + f"3,{GOOD_PIXELS},Tr".encode() + b"\xe9ining\n",
     r"line 3: not UTF-8 text \(byte 0xe9\)"),
    ((FER_HEADER + f"3,99999999999999999999 {GOOD_PIXELS[2:]},Training\n").encode(),  # OverflowError before
     "line 2: pixels are not all integers"),
    ((FER_HEADER + f'3,{GOOD_PIXELS},Training\n3,"{GOOD_PIXELS},Training\n' + f"3,{GOOD_PIXELS},Training\n").encode(),
     r"line 3: not a valid CSV record \(unexpected end of data\)"),  # an unclosed quote swallows the rest
    (FER_HEADER.encode() + b"3,\xff\xfe\x00\x01\x9c garbage\x00,Training\n", "line 2: not UTF-8 text"),
    ((FER_HEADER + f"3,{GOOD_PIXELS},Training\n3,{GOOD_PIXELS},Training").encode() + b"\xc3",  # cut inside a character
     "line 3: not UTF-8 text"),
    (b"emotion,pixels,Usage\n" + b"3," + b"1 " * 600_000 + b",Training\n", "line 2: longer than"),
])
def test_fer_csv_unreadable_text_names_file_and_line(tmp_path, content, problem):
    f = tmp_path / "fer.csv"
    f.write_bytes(content)
    with pytest.raises(BadInputError, match=problem) as err:
        data.read_fer_csv(f)
    assert str(err.value).startswith(f"{f}: ")


@pytest.mark.unit
def test_text_readers_accept_a_utf8_bom(tmp_path):
    f = tmp_path / "fer.csv"
    f.write_text("\ufeff" + FER_HEADER + f"3,{GOOD_PIXELS},PrivateTest\r\n", encoding="utf-8")
    assert data.read_fer_csv(f)["test"].y.tolist() == [3]
    p = tmp_path / "pairs.txt"
    p.write_text("\ufeff1\nAaron_Peirsol\t1\t2\nAbdullah_Gul\t13\tAaron_Peirsol\t1\n", encoding="utf-8")
    assert [q.name1 for q in data.read_pairs(p, check_images=False)] == ["Aaron_Peirsol", "Abdullah_Gul"]
    b = tmp_path / "boxes.txt"
    b.write_text("\ufeffa.jpg 1 2 30 40\n", encoding="utf-8")
    assert data.read_boxes_file(b) == {"a": [(1.0, 2.0, 29.0, 38.0)]}


@pytest.mark.unit
@pytest.mark.parametrize("reader,what", [
    (data.read_fer_csv, "a CSV file"), (data.read_boxes_file, "a boxes file"), (data.read_imglab_xml, "an imglab XML file"),
    (lambda f: data.read_pairs(f, check_images=False), "a pairs file"),
    (lambda f: data.load_fer2013(npz=f), "an npz file"),
])
def test_a_directory_is_named_not_a_traceback(tmp_path, reader, what):
    with pytest.raises(BadInputError, match=f"is a directory, not {what}") as err:
        reader(tmp_path)
    assert str(err.value).startswith(f"{tmp_path}: ")


@pytest.mark.unit
def test_fer_csv_checks_rows_of_other_usages_too(tmp_path):
    f = tmp_path / "fer.csv"
    _write_csv(f, [[3, GOOD_PIXELS, "PublicTest"], [3, "1 2 3", "Training"]])
    with pytest.raises(BadInputError, match="line 3: 3 pixel values"):
        data.read_fer_csv(f, usage="PublicTest")


@pytest.mark.unit
@pytest.mark.parametrize("content,problem", [
    (b"1\nAaron_Peirsol\t1\t2\nAbdullah_Gul\t13\tAaron_Peirsol\t1\n" + b"\xe9\n", r"line 4: not UTF-8 text"),
    (b"2\nA\t1\t2\nA\t2\t1\nB\t1\tC\t2\nD\t1\tE\t1\n", "line 3: the same pair as line 2"),  # either order is the same pair
    (b"2\nA\t1\t2\nA\t3\t4\nB\t1\tC\t2\n\nC\t2\tB\t1\n", "line 6: the same pair as line 4"),  # line numbers count blank lines
    (b"0\n", "line 1: the pair count and the number of folds must be at least 1"),
    (b"0\t5\n", "line 1: the pair count and the number of folds must be at least 1"),
    (b"1\nA\t1\t99999999999999999999999999999\nB\t1\tC\t2\n", "line 2: image numbers must be 1..9999"),
    (b"1 2 3\nA\t1\t2\nB\t1\tC\t2\n", "line 1: expected 'N' or 'folds N'"),
    (b"\n\n", "empty pairs file"),
])
def test_pairs_file_problems_name_file_and_line(tmp_path, content, problem):
    f = tmp_path / "pairs.txt"
    f.write_bytes(content)
    with pytest.raises(BadInputError, match=problem) as err:
        data.read_pairs(f, check_images=False)
    assert str(err.value).startswith(f"{f}: ")


@pytest.mark.data
@pytest.mark.parametrize("name", ["pairsDevTrain.txt", "pairsDevTest.txt"])
def test_official_pair_files_have_no_duplicates_and_a_copied_line_is_caught(data_home, tmp_path, name):
    lines = (data_home / "lfw" / name).read_text().splitlines()
    pairs = data.read_pairs(data_home / "lfw" / name)  # loads: no pair is listed twice
    assert len({tuple(sorted([(p.name1, p.number1), (p.name2, p.number2)])) for p in pairs}) == len(pairs)
    copy = tmp_path / name
    same = [ln for ln in lines[1:] if len(ln.split()) == 3]
    copy.write_text("\n".join([lines[0]] + same[:-1] + [same[3]] + lines[1 + len(same):]) + "\n")
    with pytest.raises(BadInputError, match=f"line {len(same) + 1}: the same pair as line 5"):
        data.read_pairs(copy)


@pytest.mark.unit
@pytest.mark.parametrize("line,problem", [
    ("a.jpg nan 2 30 40", "line 2: coordinates must be finite numbers"),
    ("a.jpg 1 2 inf 40", "line 2: coordinates must be finite numbers"),
    ("a.jpg 1 2 1e999 40", "line 2: coordinates must be finite numbers"),
    ("a.jpg 30 2 1 40", "line 2: empty box"),  # negative width
    ("a.jpg 1 40 30 2", "line 2: empty box"),  # negative height
])
def test_boxes_file_refuses_non_finite_and_negative_boxes(tmp_path, line, problem):
    f = tmp_path / "boxes.txt"
    f.write_text(f"b.jpg 1 2 30 40\n{line}\n")
    with pytest.raises(BadInputError, match=problem) as err:
        data.read_boxes_file(f)
    assert str(err.value).startswith(f"{f}: ")
    f.write_bytes(b"b.jpg 1 2 30 40\n\xff.jpg 1 2 3 4\n")
    with pytest.raises(BadInputError, match="line 2: not UTF-8"):
        data.read_boxes_file(f)


@pytest.mark.unit
@pytest.mark.parametrize("box,problem", [
    ("top='1' left='2' width='3'", "box 1: needs numeric attributes left, top, width, height"),
    ("top='1' left='2' width='nan' height='4'", "box 1: .* must be finite numbers"),
    ("top='1' left='2' width='-3' height='4'", "box 1: width and height must be positive"),
])
def test_imglab_xml_bad_boxes_name_the_image(tmp_path, box, problem):
    f = tmp_path / "boxes.xml"
    f.write_text(f"<dataset><images><image file='a.jpg'><box {box}/></image></images></dataset>")
    with pytest.raises(BadInputError, match=f"image 'a.jpg', {problem}"):
        data.read_imglab_xml(f)
    f.write_text("<dataset><images><image file='a.jpg'>\n<box top='1'</image></images></dataset>")
    with pytest.raises(BadInputError, match="line 2: not a readable imglab XML file"):
        data.read_imglab_xml(f)


@pytest.mark.unit
def test_malformed_checksum_list_is_a_failed_check_not_a_crash(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    sums = tmp_path / "SHA256SUMS.txt"
    sums.write_text("justonefield\n")
    with pytest.raises(BadInputError, match="SHA256SUMS.txt: line 1: expected '<sha256>  <path>'"):
        data.verify_sha256sums(tmp_path, sums)


# ---------------------------------------------------------------- FER2013 usages and a damaged npz
@pytest.mark.data
def test_shared_npz_holds_training_and_publictest_only(data_home):
    fer = data.load_fer2013()
    assert set(fer) == {"train", "val"} and (len(fer["train"]), len(fer["val"])) == (28709, 3589)
    assert len(data.load_fer2013_usage("PublicTest")) == 3589
    assert set(data.load_fer2013(usage="Training")) == {"train"}
    with pytest.raises(BadInputError, match=r"fer2013.npz: holds no PrivateTest rows \(test_x\); it holds Training, PublicTest"):
        data.load_fer2013_usage("PrivateTest")
    with pytest.raises(BadInputError, match="unknown usage 'Validation'"):
        data.load_fer2013(usage="Validation")
    sample = data_home / "fer2013" / "fer2013_sample_official.csv"
    with pytest.raises(BadInputError, match="no data rows with Usage PrivateTest"):
        data.read_fer_csv(sample, usage="PrivateTest")


@pytest.mark.unit
def test_all_three_usages_survive_the_cache_and_a_privatetest_only_cache_is_listed(tmp_path):
    px = np.arange(2304) % 256
    f = tmp_path / "fer.csv"
    _write_csv(f, [[k % 7, " ".join(map(str, (px + k) % 256)), u]
                   for k, u in enumerate(["Training", "PublicTest", "PrivateTest", "PrivateTest"])])
    out = data.prepare_cache(f, tmp_path / "all" / "fer2013.npz")
    loaded = data.load_fer2013(npz=out)
    assert {k: len(v) for k, v in loaded.items()} == {"train": 1, "val": 1, "test": 2}
    assert data.load_fer2013_usage("PrivateTest", npz=out).y.tolist() == [2, 3]
    _write_csv(f, [[4, " ".join(map(str, px)), "PrivateTest"]])
    data.prepare_cache(f, tmp_path / "home" / "fer2013" / "fer2013.npz")
    entry = data.dataset_status("fer2013", root=tmp_path / "home")
    assert "error" not in entry, entry.get("error")
    assert entry["splits"] == {"test": {"usage": "PrivateTest", "images": 1, "per_class": [0, 0, 0, 0, 1, 0, 0]}}


@pytest.mark.unit
@pytest.mark.parametrize("damage", ["truncated", "not_a_zip", "cut_member", "labels"])
def test_damaged_npz_is_one_clear_error(tmp_path, damage):
    px = np.arange(2304) % 256
    f = tmp_path / "fer.csv"
    _write_csv(f, [[3, " ".join(map(str, px)), "Training"], [9 - 9, " ".join(map(str, px[::-1])), "PublicTest"]])
    npz = data.prepare_cache(f, tmp_path / "fer2013.npz")
    raw = npz.read_bytes()
    if damage == "truncated":
        npz.write_bytes(raw[: len(raw) // 2])
    elif damage == "not_a_zip":
        npz.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    elif damage == "cut_member":  # the zip directory survives, a member's compressed bytes do not
        buf = bytearray(raw)
        buf[200:400] = b"\x00" * 200
        npz.write_bytes(bytes(buf))
    else:
        np.savez(npz, train_x=np.zeros((1, 48, 48), np.uint8), train_y=np.array([7]))
    with pytest.raises(BadInputError) as err:
        data.load_fer2013(npz=npz)
    assert str(err.value).startswith(f"{npz}: ")


@pytest.mark.data
def test_a_truncated_fer_npz_does_not_hide_the_other_data_sets(data_home, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    for d in data_home.iterdir():
        if d.is_dir() and d.name != "fer2013":
            (home / d.name).symlink_to(d)
    (home / "fer2013").mkdir()
    raw = (data_home / "fer2013" / "fer2013.npz").read_bytes()
    (home / "fer2013" / "fer2013.npz").write_bytes(raw[: len(raw) // 3])
    entries = {e["name"]: e for e in data.list_datasets(root=home)}
    assert set(entries) == set(data.DATASETS) and all(e["found"] for e in entries.values())
    assert "fer2013.npz: not a readable npz file" in entries["fer2013"]["error"]
    assert [n for n, e in entries.items() if "error" in e] == ["fer2013"]
    assert entries["orl_att_faces"]["images"] == 400 and entries["lfw"]["splits"]["pairsDevTest.txt"] == "1000 pairs"
