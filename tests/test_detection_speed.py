"""facelab.detection.speed: a detector timed in fresh processes beside the reference, as a user's process runs it."""
from __future__ import annotations

import pytest

from facelab.detection.speed import spread, time_in_fresh_processes
from facelab.errors import FacelabError


@pytest.fixture(scope="module")
def two_photos(data_home):
    from facelab.data import load_cmu_mit

    return [it["path"] for it in load_cmu_mit()[:2]]


def test_time_in_fresh_processes_on_real_photos(two_photos):
    out = time_in_fresh_processes("haar", two_photos, runs=1, passes=2)
    (rows,) = out["runs"]
    assert len(rows) == 2 and out["photos"] == 2
    for row in rows:
        assert set(row) == {"haar", "haar-alt2"}
        assert row["haar-alt2"]["x_reference"] == pytest.approx(1.0)  # the reference is its own unit
        assert row["haar"]["s_per_image"] > 0
    assert out["first_pass_x_reference"]["n"] == 1 and out["later_passes_x_reference"]["n"] == 1
    assert out["first_pass_x_reference"]["median"] == pytest.approx(rows[0]["haar"]["x_reference"], abs=1e-3)


def test_bad_input_fails_clearly(two_photos, tmp_path):
    with pytest.raises(FacelabError, match="unknown detector 'no-such-detector'"):
        time_in_fresh_processes("no-such-detector", two_photos, runs=1, passes=1)
    missing = tmp_path / "missing.jpg"  # the run's own process fails: its reason comes back, naming the file
    with pytest.raises(RuntimeError, match=r"timing run 1 of haar failed: .*missing\.jpg"):
        time_in_fresh_processes("haar", [str(missing)], runs=1, passes=1)
    with pytest.raises(ValueError, match="at least 1"):
        time_in_fresh_processes("haar", two_photos, runs=0)


def test_spread():
    assert spread([]) is None
    assert spread([0.5, 0.3, 0.4]) == {"median": 0.4, "min": 0.3, "max": 0.5, "n": 3}
