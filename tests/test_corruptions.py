"""facelab.evaluation.corruptions: shapes and dtypes kept, seeded, stronger with severity, each doing what it says."""
from __future__ import annotations

import numpy as np
import pytest

from facelab.evaluation import corruptions as C


def _face(h=48, w=48, colour=False):
    """A smooth synthetic test pattern with edges (a gradient and a bright disc): enough to see blur and noise."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = (60 + 120 * xx / max(w - 1, 1) + 60 * ((yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 4) ** 2))
    img = np.clip(img, 0, 255).astype(np.uint8)
    return np.stack([img, img // 2, 255 - img], -1) if colour else img


def _lap_var(img):
    import cv2

    return float(cv2.Laplacian(img.astype(np.float64), cv2.CV_64F).var())


@pytest.mark.unit
@pytest.mark.parametrize("name", C.CORRUPTIONS)
@pytest.mark.parametrize("colour", [False, True])
def test_shape_dtype_kept_and_input_untouched(name, colour):
    img = _face(40, 56, colour)
    before = img.copy()
    for s in (0, *C.SEVERITIES):
        out = C.corrupt(img, name, s, seed=3)
        assert out.shape == img.shape and out.dtype == np.uint8
        assert out is not img
    assert np.array_equal(img, before)
    assert np.array_equal(C.corrupt(img, name, 0), img)


@pytest.mark.unit
@pytest.mark.parametrize("name", C.CORRUPTIONS)
def test_stronger_with_severity(name):
    img = _face(64, 64)
    err = [np.abs(C.corrupt(img, name, s, seed=1).astype(float) - img).mean() for s in C.SEVERITIES]
    assert 0 < err[0] < err[1] < err[2]


@pytest.mark.unit
@pytest.mark.parametrize("name", ["noise", "occlusion"])
def test_random_ones_are_seeded(name):
    img = _face(64, 64)
    a, b, c = (C.corrupt(img, name, 2, seed=s) for s in (7, 7, 8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.unit
def test_corrupt_many_gives_each_image_its_own_seed():
    imgs = np.stack([_face(32, 32)] * 3)
    out = C.corrupt_many(imgs, "noise", 2, seed=5)
    assert out.shape == imgs.shape
    assert not np.array_equal(out[0], out[1])
    assert np.array_equal(out, C.corrupt_many(imgs, "noise", 2, seed=5))
    assert np.array_equal(out[1], C.corrupt(imgs[1], "noise", 2, seed=6))
    assert isinstance(C.corrupt_many(list(imgs), "blur", 1), list)


@pytest.mark.unit
def test_blur_and_low_resolution_remove_detail():
    img = _face(96, 96)
    assert _lap_var(C.gaussian_blur(img, 2.0)) < 0.5 * _lap_var(img)
    low = C.low_resolution(img, 8)
    assert low.shape == img.shape and _lap_var(low) < _lap_var(img)
    assert np.array_equal(C.low_resolution(img, 1), img) and np.array_equal(C.gaussian_blur(img, 0), img)


@pytest.mark.unit
def test_noise_has_the_asked_spread():
    flat = np.full((200, 200), 128, np.uint8)
    out = C.gaussian_noise(flat, 10, seed=0).astype(float)
    assert abs(out.mean() - 128) < 0.5 and 9 < out.std() < 11


@pytest.mark.unit
def test_occlusion_covers_the_asked_area_inside_the_region():
    img = np.full((100, 120), 200, np.uint8)
    region = (20, 10, 60, 60)
    out = C.occlusion(img, 0.25, seed=2, region=region)
    dark = out == 0
    assert dark.sum() == 30 * 30            # sqrt(0.25) x 60 = a 30-px square
    ys, xs = np.nonzero(dark)
    assert xs.min() >= 20 and xs.max() < 80 and ys.min() >= 10 and ys.max() < 70
    assert np.array_equal(C.occlusion(img, 0.0), img)


@pytest.mark.unit
def test_illumination_darkens_and_lights_from_one_side():
    img = np.full((50, 100), 180, np.uint8)
    out = C.illumination(img, gamma=2.0, side=0.5)
    assert out.mean() < img.mean()
    assert out[:, 0].mean() < out[:, -1].mean()
    assert np.array_equal(C.illumination(img), img)


@pytest.mark.unit
def test_face_size_scales_the_corruption():
    """Severity is relative to the face: the same severity blurs a 250-px photo with a 110-px face less than it
    would if the whole photo were the face."""
    img = _face(250, 250)
    change = lambda out: np.abs(out.astype(float) - img).mean()  # noqa: E731
    assert change(C.corrupt(img, "blur", 2, face_size=110)) < change(C.corrupt(img, "blur", 2))
    assert C.corrupt(img, "low_resolution", 1, face_size=24).tobytes() == img.tobytes()  # 24 px across: no change


@pytest.mark.unit
def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown corruption"):
        C.corrupt(_face(), "fog", 1)
    with pytest.raises(ValueError, match="severity"):
        C.corrupt(_face(), "blur", 4)
    with pytest.raises(ValueError, match="uint8"):
        C.corrupt(_face().astype(np.float32), "blur", 1)
    assert "sigma" in C.describe("blur", 2, 110) and C.describe("noise", 0) == "clean"
