"""One image path for every stage: any format in, clear errors for bad files, faces cut and aligned."""
from __future__ import annotations

import numpy as np
import pytest

from facelab.errors import BadInputError
from facelab.preprocess import align_eyes, crop_face, list_images, normalize, read_image, sharpness


def test_reads_pgm_jpeg_gif_and_colour(data_home):
    pgm = read_image(data_home / "orl_att_faces/att_faces/s1/1.pgm")
    assert pgm.shape == (112, 92) and pgm.dtype == np.uint8
    gif = data_home / "cmu_mit_frontal_faces/test_scenes/test/voyager.gif"
    assert read_image(gif).ndim == 2 and read_image(gif, "bgr").shape[2] == 3
    scene = sorted((data_home / "non_face_scenes").glob("*.jpg"))[0]
    rgb, bgr = read_image(scene, "rgb"), read_image(scene, "bgr")
    assert rgb.shape[2] == 3 and np.array_equal(rgb[..., ::-1], bgr)


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


def test_crop_face_pads_at_the_border():
    img = np.arange(100 * 80, dtype=np.uint16).reshape(100, 80).astype(np.uint8)
    crop = crop_face(img, (-10, -10, 30, 30), size=32)
    assert crop.shape == (32, 32)
    inside = crop_face(img, (10, 20, 20, 20))
    assert np.array_equal(inside, img[20:40, 10:30])


def test_align_eyes_levels_a_tilted_face():
    img = np.zeros((100, 100), np.uint8)
    left, right = (30.0, 40.0), (70.0, 60.0)  # tilted by ~27 degrees
    for x, y in (left, right):
        img[int(y) - 2:int(y) + 3, int(x) - 2:int(x) + 3] = 255
    out = align_eyes(img, left, right, size=64)
    ys, xs = np.nonzero(out > 128)
    left_blob, right_blob = ys[xs < 32].mean(), ys[xs >= 32].mean()
    assert abs(left_blob - right_blob) < 1.5 and abs(left_blob - 0.38 * 64) < 2


def test_normalize_and_sharpness():
    x = np.full((2, 4, 4), 255, np.uint8)
    assert normalize(x).max() == 1.0 and normalize(x, "symmetric").max() == 1.0
    z = normalize(np.random.default_rng(0).integers(0, 255, (3, 8, 8)).astype(np.uint8), "standardize")
    assert np.allclose(z.mean(axis=(1, 2)), 0, atol=1e-5)
    flat, edges = np.zeros((16, 16)), np.tile([0, 255], (16, 8))
    assert sharpness(flat) == 0 and sharpness(edges) > 100
    with pytest.raises(ValueError):
        normalize(x, "zscore")


def test_list_images_expands_folders(data_home):
    files = list_images([data_home / "orl_att_faces/att_faces/s1"])
    assert len(files) == 10 and all(f.suffix == ".pgm" for f in files)
