"""One image path for every stage: any format in, clear errors for bad files, faces cut and aligned."""
from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from facelab import preprocess
from facelab.errors import BadInputError
from facelab.preprocess import align_eyes, crop_face, list_images, normalize, read_image, sharpness


@pytest.mark.data
def test_reads_pgm_jpeg_gif_and_colour(data_home):
    pgm = read_image(data_home / "orl_att_faces/att_faces/s1/1.pgm")
    assert pgm.shape == (112, 92) and pgm.dtype == np.uint8
    gif = data_home / "cmu_mit_frontal_faces/test_scenes/test/voyager.gif"
    assert read_image(gif).ndim == 2 and read_image(gif, "bgr").shape[2] == 3
    scene = sorted((data_home / "non_face_scenes").glob("*.jpg"))[0]
    rgb, bgr = read_image(scene, "rgb"), read_image(scene, "bgr")
    assert rgb.shape[2] == 3 and np.array_equal(rgb[..., ::-1], bgr)


@pytest.mark.unit
@pytest.mark.parametrize("content,problem", [
    (b"", "empty file"),
    (b"this is not an image\n", "not an image"),
])
def test_bad_files_name_the_file(tmp_path, content, problem):
    f = tmp_path / "bad.jpg"
    f.write_bytes(content)
    with pytest.raises(BadInputError, match=problem) as err:
        read_image(f)
    assert str(f) in str(err.value)


@pytest.mark.data
def test_truncated_jpeg_and_missing_file(data_home, tmp_path):
    src = (data_home / "lfw/lfw/AJ_Cook/AJ_Cook_0001.jpg").read_bytes()
    f = tmp_path / "cut.jpg"
    f.write_bytes(src[: len(src) // 2])
    with pytest.raises(BadInputError, match="truncated"):
        read_image(f)
    with pytest.raises(BadInputError, match="no such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(BadInputError, match="directory"):
        read_image(tmp_path)


@pytest.mark.unit
def test_crop_face_pads_at_the_border():
    img = np.arange(100 * 80, dtype=np.uint16).reshape(100, 80).astype(np.uint8)
    crop = crop_face(img, (-10, -10, 30, 30), size=32)
    assert crop.shape == (32, 32)
    inside = crop_face(img, (10, 20, 20, 20))
    assert np.array_equal(inside, img[20:40, 10:30])


@pytest.mark.unit
def test_align_eyes_levels_a_tilted_face():
    img = np.zeros((100, 100), np.uint8)
    left, right = (30.0, 40.0), (70.0, 60.0)  # tilted by ~27 degrees
    for x, y in (left, right):
        img[int(y) - 2:int(y) + 3, int(x) - 2:int(x) + 3] = 255
    out = align_eyes(img, left, right, size=64)
    ys, xs = np.nonzero(out > 128)
    left_blob, right_blob = ys[xs < 32].mean(), ys[xs >= 32].mean()
    assert abs(left_blob - right_blob) < 1.5 and abs(left_blob - 0.38 * 64) < 2


@pytest.mark.unit
def test_normalize_and_sharpness():
    x = np.full((2, 4, 4), 255, np.uint8)
    assert normalize(x).max() == 1.0 and normalize(x, "symmetric").max() == 1.0
    z = normalize(np.random.default_rng(0).integers(0, 255, (3, 8, 8)).astype(np.uint8), "standardize")
    assert np.allclose(z.mean(axis=(1, 2)), 0, atol=1e-5)
    flat, edges = np.zeros((16, 16)), np.tile([0, 255], (16, 8))
    assert sharpness(flat) == 0 and sharpness(edges) > 100
    with pytest.raises(ValueError):
        normalize(x, "zscore")


@pytest.mark.data
def test_list_images_expands_folders(data_home):
    files = list_images([data_home / "orl_att_faces/att_faces/s1"])
    assert len(files) == 10 and all(f.suffix == ".pgm" for f in files)


# ---------------------------------------------------------------- limits, checked before decoding
def _png_claiming(path, width, height):
    """A small valid PNG whose header (IHDR, CRC fixed) announces width x height: what a 389 kB 20000x20000 PNG looks like to a reader."""
    ok, buf = cv2.imencode(".png", np.zeros((8, 8), np.uint8))
    b = bytearray(buf.tobytes())
    b[16:24] = struct.pack(">II", width, height)  # after the 8-byte signature, length and b"IHDR"
    b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])))
    path.write_bytes(bytes(b))
    return path


@pytest.fixture
def no_decoding(monkeypatch):
    """Any pixel decoding fails the test: limits must be checked from the header."""
    def boom(*args, **kwargs):
        raise AssertionError("decoded pixels before checking the header")

    monkeypatch.setattr(cv2, "imdecode", boom)
    monkeypatch.setattr(Image.Image, "load", boom)


@pytest.mark.unit
@pytest.mark.parametrize("width,height", [(10000, 6000), (20000, 20000), (40000, 40000)])  # past OpenCV's own limit: a cv2.error before
def test_huge_header_is_refused_before_decoding(tmp_path, no_decoding, width, height):
    f = _png_claiming(tmp_path / "huge.png", width, height)
    with pytest.raises(BadInputError, match="larger than the limit of 50,000,000 pixels") as err:
        read_image(f)
    assert str(err.value).startswith(f"{f}: ")


@pytest.mark.unit
def test_pixel_limit_is_a_setting_and_an_argument(tmp_path, monkeypatch):
    f = tmp_path / "small.png"
    cv2.imwrite(str(f), np.zeros((20, 30), np.uint8))
    assert read_image(f).shape == (20, 30)
    monkeypatch.setattr(preprocess, "MAX_PIXELS", 599)
    with pytest.raises(BadInputError, match="30x20 = 600 pixels is larger than the limit of 599"):
        read_image(f)
    assert read_image(f, max_pixels=600).shape == (20, 30)


@pytest.mark.unit
def test_byte_limit_refuses_a_sparse_12_gb_file_from_its_size(tmp_path, monkeypatch):
    f = tmp_path / "huge.jpg"
    with open(f, "wb") as fh:  # sparse: 12 GB on paper, a few bytes on disk
        fh.write(b"\xff\xd8\xff\xe0")
        fh.truncate(12 * 2**30)

    def no_read(*args, **kwargs):
        raise AssertionError("read the file before checking its size")

    monkeypatch.setattr(np, "fromfile", no_read)
    with pytest.raises(BadInputError, match=r"12,884,901,888 bytes is larger than the limit of 200,000,000 bytes"):
        read_image(f)
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), np.zeros((4, 4), np.uint8))
    monkeypatch.setattr(preprocess, "MAX_IMAGE_BYTES", small.stat().st_size - 1)
    with pytest.raises(BadInputError, match="larger than the limit"):
        read_image(small)
    assert read_image(small, max_bytes=small.stat().st_size).shape == (4, 4)


@pytest.mark.unit
def test_limits_come_from_the_environment():
    code = "import facelab.preprocess as p; print(p.MAX_PIXELS, p.MAX_IMAGE_BYTES)"
    env = dict(os.environ, FACELAB_MAX_PIXELS="1000", FACELAB_MAX_IMAGE_BYTES="2000")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1000", "2000"]
    env.pop("FACELAB_MAX_PIXELS"), env.pop("FACELAB_MAX_IMAGE_BYTES")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["50000000", "200000000"]
    env["FACELAB_MAX_PIXELS"] = "lots"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "FACELAB_MAX_PIXELS='lots': expected a positive whole number" in bad.stderr


def _gif_claiming(path, width, height):
    """A 43-byte GIF whose screen and image descriptor announce width x height."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "GIF")
    b = bytearray(buf.getvalue())
    b[6:10] = struct.pack("<HH", width, height)
    d = b.index(b"\x2c\x00\x00\x00\x00")  # image descriptor at (0, 0)
    b[d + 5:d + 9] = struct.pack("<HH", width, height)
    path.write_bytes(bytes(b))
    return path


@pytest.mark.unit
def test_a_gif_with_a_huge_header_does_not_stop_a_batch(tmp_path):
    good = []
    for k in range(2):
        good.append(tmp_path / f"good{k}.png")
        cv2.imwrite(str(good[-1]), np.full((10, 12), 50 * k, np.uint8))
    bomb = _gif_claiming(tmp_path / "bomb.gif", 65535, 65535)
    read, errors = [], []
    for f in (good[0], bomb, good[1]):
        try:
            read.append(read_image(f))
        except BadInputError as exc:
            errors.append(str(exc))
    assert [im.shape for im in read] == [(10, 12), (10, 12)]
    assert len(errors) == 1 and errors[0].startswith(f"{bomb}: ") and "pixels" in errors[0]


@pytest.mark.unit
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(BadInputError, match="not a regular file"):
        read_image(fifo)


# ---------------------------------------------------------------- EXIF orientation
@pytest.mark.unit
@pytest.mark.parametrize("mode", ["grey", "rgb"])
def test_exif_orientation_6_comes_out_upright(tmp_path, mode):
    # stored 40 wide x 20 high with a bright top band; orientation 6 = "rotate 90 degrees clockwise to view"
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:5] = (250, 200, 20)
    exif = Image.Exif()
    exif[0x0112] = 6
    f = tmp_path / "sideways.jpg"
    Image.fromarray(stored).save(f, quality=95, exif=exif.tobytes())
    img = read_image(f, mode)
    assert img.shape[:2] == (40, 20)  # upright: 20 wide, 40 high
    assert img[:, -5:].mean() > 100 > img[:, :-5].mean()  # the top band is now on the right
    if mode == "rgb":
        assert np.abs(img[:, -3:].reshape(-1, 3).mean(0) - (250, 200, 20)).max() < 12


# ---------------------------------------------------------------- JPEG endings
def _gradient_jpeg():
    y, x = np.mgrid[0:60, 0:80]
    ok, buf = cv2.imencode(".jpg", ((x * 3 + y * 2) % 256).astype(np.uint8))
    return buf.tobytes()


@pytest.fixture(params=["synthetic", "lfw"])
def jpeg_bytes(request):
    if request.param == "synthetic":
        return _gradient_jpeg()
    home = request.getfixturevalue("data_home")
    return (home / "lfw/lfw/AJ_Cook/AJ_Cook_0001.jpg").read_bytes()


@pytest.mark.data
def test_jpeg_with_a_trailer_or_without_its_end_marker_is_read(tmp_path, jpeg_bytes):
    assert jpeg_bytes.endswith(b"\xff\xd9")
    full = tmp_path / "full.jpg"
    full.write_bytes(jpeg_bytes)
    ref = read_image(full)
    trailer = tmp_path / "trailer.jpg"  # phones append maker data after the end-of-image marker
    trailer.write_bytes(jpeg_bytes + b"SEFH" + bytes(range(256)) * 4)
    no_end = tmp_path / "no_end.jpg"
    no_end.write_bytes(jpeg_bytes[:-2])
    for f in (trailer, no_end):
        assert np.array_equal(read_image(f), ref), f.name
    for cut in (len(jpeg_bytes) // 2, 100, 10, 4):  # scan data gone: refused, not grey-filled
        f = tmp_path / f"cut{cut}.jpg"
        f.write_bytes(jpeg_bytes[:-cut])
        with pytest.raises(BadInputError, match="truncated") as err:
            read_image(f)
        assert str(err.value).startswith(f"{f}: ")
