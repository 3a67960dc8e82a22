"""Seeded fuzzing of every input reader with mutated copies of real files (issue 23).

Each mutated file either reads to a sane result or raises :class:`BadInputError`; no other
exception escapes, and a result never silently holds fewer records than the file does.
Mutations: bit flips, truncations and header edits, a few hundred in all, from fixed seeds
so a failure repeats; the message names the mutation.
"""
from __future__ import annotations

import random
import re

import numpy as np
import pytest

from facelab import data, preprocess
from facelab.errors import BadInputError

pytestmark = pytest.mark.data

N_IMAGE, N_TEXT = 70, 60  # mutations per image and per text file: about 400 reader calls in all


def mutations(raw: bytes, n: int, seed: int, header: int = 64, text: bool = False):
    """``n`` seeded mutants of ``raw`` as (description, bytes): bit flips, truncations, header edits and, for text,
    line edits (a line dropped, doubled or blanked, a cut at a line end, a digit changed) that keep it decodable."""
    rng = random.Random(seed)
    kinds = ("flip", "truncate", "header") + (("line", "line") if text else ())
    for k in range(n):
        b = bytearray(raw)
        kind = kinds[k % len(kinds)]
        if kind == "flip":
            spots = [rng.randrange(len(b)) for _ in range(rng.randint(1, 4))]
            for i in spots:
                b[i] ^= 1 << rng.randrange(8)
            what = f"flip bits at {spots}"
        elif kind == "truncate":
            cut = rng.randrange(len(b))
            del b[cut:]
            what = f"truncate to {cut} bytes"
        elif kind == "header":
            i = rng.randrange(min(header, len(b)))
            value = rng.choice([b"\xff\xff", b"\x00\x00", b"\x7f\xff", b"99999", b"-1", b"0", bytes([rng.randrange(256)])])
            b[i:i + len(value)] = value
            what = f"write {value!r} at {i}"
        else:
            lines = bytes(b).split(b"\n")
            i = rng.randrange(len(lines) - 1)
            op = rng.choice(["drop", "double", "blank", "cut", "digit"])
            if op == "drop":
                del lines[i]
            elif op == "double":
                lines.insert(i, lines[i])
            elif op == "blank":
                lines.insert(i, b"")
            elif op == "cut":
                lines = lines[:i + 1]
            else:
                digits = [j for j, c in enumerate(lines[i]) if 48 <= c <= 57]
                if digits:
                    j = rng.choice(digits)
                    lines[i] = lines[i][:j] + bytes([48 + rng.randrange(10)]) + lines[i][j + 1:]
            b = bytearray(b"\n".join(lines))
            what = f"{op} line {i + 1}"
        yield f"seed {seed} #{k}: {what}", bytes(b)


def _run(tmp_path, name: str, raw: bytes, n: int, seed: int, read, check, header: int = 64, text: bool = False) -> int:
    """Feed every mutant to ``read``; ``check(result, mutant)`` returns a problem or None. Returns how many read."""
    f = tmp_path / name
    failures, ok = [], 0
    for what, mutant in mutations(raw, n, seed, header, text):
        f.write_bytes(mutant)
        try:
            result = read(f)
        except BadInputError as exc:
            if not str(exc).startswith(f"{f}: "):
                failures.append(f"{what}: message does not start with the file: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - the point of the test: nothing else may escape
            failures.append(f"{what}: {type(exc).__name__} escaped: {exc}")
            continue
        problem = check(result, mutant)
        if problem:
            failures.append(f"{what}: {problem}")
        ok += 1
    assert not failures, "\n".join(failures[:10])
    return ok


# ---------------------------------------------------------------- images
@pytest.fixture
def small_pixel_limit(monkeypatch):
    # a mutated header may announce a large but legal size; a lower limit keeps each decode small and fast
    monkeypatch.setattr(preprocess, "MAX_PIXELS", 2_000_000)


def _sane_image(img, mutant) -> str | None:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 2 or 0 in img.shape:
        return f"not a non-empty 2-D uint8 array: {type(img).__name__} {getattr(img, 'shape', '')}"
    if img.shape[0] * img.shape[1] > preprocess.MAX_PIXELS:
        return f"{img.shape} is past the pixel limit"
    return None


@pytest.mark.parametrize("rel,seed", [
    ("lfw/lfw/AJ_Cook/AJ_Cook_0001.jpg", 1),
    ("orl_att_faces/att_faces/s3/1.pgm", 2),
    ("cmu_mit_frontal_faces/test_scenes/test/trekcolr.gif", 3),
])
def test_mutated_images(data_home, tmp_path, small_pixel_limit, rel, seed):
    src = data_home / rel
    raw = src.read_bytes()

    def read(f):
        img = preprocess.read_image(f)
        bgr = preprocess.read_image(f, "bgr")
        assert bgr.shape == img.shape + (3,), (bgr.shape, img.shape)  # both modes agree on the size
        assert preprocess.image_size(f) in ((img.shape[1], img.shape[0]), (img.shape[0], img.shape[1]))
        return img

    ok = _run(tmp_path, "mutant" + src.suffix, raw, N_IMAGE, seed, read, _sane_image)
    assert ok > 0  # some mutants (flipped pixel bits) still decode: the check above ran


# ---------------------------------------------------------------- FER2013 CSV and its npz cache
def _fer_slice(data_home, rows: int = 12) -> bytes:
    lines = (data_home / "fer2013" / "fer2013_sample_official.csv").read_bytes().split(b"\n")
    usages = [ln for ln in lines[1:] if ln.endswith((b",Training", b",PublicTest"))]
    picked = usages[:rows // 2] + [ln for ln in usages if ln.endswith(b",PublicTest")][:rows // 2]
    return b"\n".join([lines[0]] + picked) + b"\n"


def _records(mutant: bytes) -> int:
    """Data rows the file holds by the CSV grammar: non-empty lines after the header (\\r, \\n or \\r\\n end a line)."""
    lines = [ln for ln in re.split(rb"\r\n|\r|\n", mutant.removeprefix(b"\xef\xbb\xbf"))]
    return sum(1 for ln in lines[1:] if ln)


def test_mutated_fer_csv(data_home, tmp_path):
    raw = _fer_slice(data_home)

    def read(f):
        splits = data.read_fer_csv(f)
        val = data.read_fer_csv(f, usage="PublicTest") if "val" in splits else None
        return splits, val

    def check(result, mutant):
        splits, val = result
        n = sum(len(s) for s in splits.values())
        if n != _records(mutant):
            return f"{n} rows read from a file of {_records(mutant)} rows"
        if any(s.x.shape != (len(s), 48, 48) or s.x.dtype != np.uint8 for s in splits.values()):
            return "images are not (N, 48, 48) uint8"
        if val is not None and (set(val) != {"val"} or not np.array_equal(val["val"].x, splits["val"].x)):
            return "usage=PublicTest disagrees with the full read"
        return None

    assert _run(tmp_path, "fer.csv", raw, N_TEXT, 4, read, check, text=True) > 0


def test_mutated_fer_npz(data_home, tmp_path):
    csv = tmp_path / "slice.csv"
    csv.write_bytes(_fer_slice(data_home))
    npz = data.prepare_cache(csv, tmp_path / "cache" / "fer2013.npz")
    want = {k: len(v) for k, v in data.load_fer2013(npz=npz).items()}

    def check(result, mutant):
        got = {k: len(v) for k, v in result.items()}
        return None if got == want else f"splits {got}, expected {want}"

    _run(tmp_path, "fer2013.npz", npz.read_bytes(), N_TEXT // 2, 5, lambda f: data.load_fer2013(npz=f), check)


# ---------------------------------------------------------------- LFW pair list
def test_mutated_pair_list(data_home, tmp_path):
    lines = (data_home / "lfw" / "pairsDevTest.txt").read_text().splitlines()
    per_kind = int(lines[0])
    same, diff = lines[1:7], lines[1 + per_kind:1 + per_kind + 6]
    raw = ("6\n" + "\n".join(same + diff) + "\n").encode()
    original = tmp_path / "original.txt"
    original.write_bytes(raw)
    assert len(data.read_pairs(original, root=data_home)) == 12

    def read(f):
        checked = data.read_pairs(f, root=data_home)
        assert data.read_pairs(f, check_images=False) == checked
        return checked

    def check(pairs, mutant):
        announced = [ln for ln in mutant.decode("utf-8-sig").split("\n") if ln.strip()]
        if len(pairs) != len(announced) - 1:
            return f"{len(pairs)} pairs from a file of {len(announced) - 1} pair lines"
        a, b, y = data.pair_paths(pairs, root=data_home)
        if not all(p.is_file() for p in a + b) or y.sum() != sum(p.same for p in pairs):
            return "a pair names a missing image"
        return None

    assert _run(tmp_path, "pairs.txt", raw, N_TEXT, 6, read, check, text=True) > 0


# ---------------------------------------------------------------- detection ground truth
def test_mutated_boxes_and_imglab_xml(data_home, tmp_path):
    lines = (data_home / "cmu_mit_frontal_faces/test_scenes/ground_truth_bboxes.txt").read_bytes().split(b"\n")
    raw = b"\n".join(lines[:20]) + b"\n"

    def check_boxes(result, mutant):
        text = mutant.decode("utf-8-sig")
        n = sum(1 for ln in text.split("\n") if ln.split() and not ln.split()[0].startswith("#"))
        boxes = np.array([b for bs in result.values() for b in bs], float).reshape(-1, 4)
        if len(boxes) != n:
            return f"{len(boxes)} boxes from a file of {n} box lines"
        if not np.isfinite(boxes).all() or (boxes[:, 2:] <= 0).any():
            return "a box is not finite or has no size"
        return None

    assert _run(tmp_path, "boxes.txt", raw, N_TEXT // 2, 7, data.read_boxes_file, check_boxes, text=True) > 0

    xml = (data_home / "dlib_faces_boxes/testing.xml").read_bytes()
    n_boxes = sum(len(it["boxes"]) for it in data.read_imglab_xml(data_home / "dlib_faces_boxes/testing.xml"))
    assert n_boxes == 25

    def check_xml(items, mutant):
        boxes = np.concatenate([it["boxes"] for it in items]) if items else np.zeros((0, 4))
        if len(boxes) != n_boxes:
            return f"{len(boxes)} boxes, the file has {n_boxes}"
        if not np.isfinite(boxes).all() or (boxes[:, 2:] <= 0).any():
            return "a box is not finite or has no size"
        return None

    _run(tmp_path, "testing.xml", xml, N_TEXT // 2, 8, data.read_imglab_xml, check_xml, header=len(xml))
