"""Run several registry detectors over one box-annotated image set and collect comparable numbers."""
from __future__ import annotations


import numpy as np

from ..errors import FacelabError
from ..preprocess import list_images, read_image


def load_box_set(images_dir, boxes_file) -> list[dict]:
    """Images of a folder matched by file stem to a ``name x_min y_min x_max y_max`` boxes file, or to a landmarks
    file of ``name`` and 6 points per line (CMU+MIT's ``ground_truth_landmarks.txt``; boxes by facelab's face box
    convention, see :func:`facelab.data.face_box_from_points`). Images without lines have no face (count as
    face-free). Box file names without an image are an error; a landmarks file may list other images too."""
    from ..data.detection_sets import read_ground_truth

    gt, landmarks = read_ground_truth(boxes_file)
    files = list_images([images_dir])
    if not files:
        raise FacelabError(f"no image files in {images_dir}")
    stems = {f.stem for f in files}
    missing = sorted(set(gt) - stems)
    if missing and not landmarks:
        raise FacelabError(f"{boxes_file}: {len(missing)} name(s) have no image in {images_dir}, e.g. {missing[:3]}")
    return [{"path": str(f), "name": f.stem, "boxes": np.array(gt.get(f.stem, []), float).reshape(-1, 4)}
            for f in files]


def benchmark(names, items, progress: bool = True, low_threshold: bool = True, images=None, on_error="record"):
    """Per detector: metrics (AP50, AP30, recall at 10/50/167 FP, s/image, MP/s) and the raw detections.

    With ``low_threshold`` every detector runs with its lowest useful threshold so the PR curve is complete
    (speed is measured in that mode too). Images are the outer loop and detectors the inner one, so a
    change in the machine's load (it is shared) hits every detector alike; each detector is warmed up on
    the first image first. A detector that cannot be built is returned with ``unavailable``."""
    import time

    from tqdm.auto import tqdm

    from .metrics import _as_array, detection_metrics
    from .registry import get_detector

    images = images if images is not None else [read_image(it["path"], "bgr") for it in items]
    gts = [it["boxes"] for it in items]
    out, dets = {}, {}
    for name in names:
        try:
            det = get_detector(name, min_score=-1e9) if low_threshold else get_detector(name)
            det.detect(images[0])
        except Exception as exc:  # noqa: BLE001 - a missing baseline must not stop the others
            if on_error != "record":
                raise
            out[name] = {"unavailable": f"{type(exc).__name__}: {exc}"}
            continue
        dets[name] = det
    found = {n: [] for n in dets}
    seconds = {n: [] for n in dets}
    for im in tqdm(images, desc="benchmark", disable=not progress, leave=False):
        for n, det in dets.items():
            t0 = time.perf_counter()
            d = det.detect(im)
            seconds[n].append(time.perf_counter() - t0)
            found[n].append(_as_array(d))
    mp = float(sum(im.shape[0] * im.shape[1] for im in images)) / 1e6
    for n in dets:
        m = detection_metrics(found[n], gts)
        total = float(np.sum(seconds[n]))
        m.update(s_per_image=total / len(images), mp_per_s=mp / total if total > 0 else float("inf"))
        out[n] = {"metrics": m, "detections": found[n], "seconds": seconds[n]}
    return {n: out[n] for n in names}
