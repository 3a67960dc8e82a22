"""The data layer: one loader per public data set, and a registry that `facelab data` lists.

Loaders read the data sets where they lie under the data home
(``$FACELAB_DATA``, default ``./datasets``); nothing here downloads at import
or load time. ``facelab data fetch NAME`` uses an official download where one exists.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..config import data_home
from ..errors import DatasetNotFoundError, FacelabError
from . import detection_sets, fer2013, lfw, orl
from ._common import FaceSet, verify_sha256sums
from .detection_sets import (FACE_BOX_SIDE, face_box_from_points, list_non_face_scenes, load_caltech_crops,
                             load_cmu_mit, load_dlib_boxes, read_boxes_file, read_cmu_landmarks, read_imglab_xml,
                             read_landmark_boxes)
from .fer2013 import (LABEL_NAMES as FER_LABELS, USAGE_TO_SPLIT as FER_USAGES, load_fer2013, load_fer2013_usage,
                      prepare_cache, read_fer_csv, train_val_duplicates)
from .lfw import Pair, load_lfw_people, pair_paths, pair_people, read_pairs
from .orl import load_orl, split_orl

__all__ = ["DATASETS", "DatasetInfo", "FaceSet", "FER_LABELS", "FER_USAGES", "Pair", "dataset_status", "fetch",
           "list_datasets", "list_non_face_scenes", "load_caltech_crops", "load_cmu_mit", "load_dlib_boxes", "load_fer2013",
           "load_fer2013_usage", "load_lfw_people",
           "load_orl", "pair_paths", "pair_people", "prepare_cache", "read_boxes_file", "read_cmu_landmarks",
           "read_fer_csv", "read_imglab_xml", "read_pairs", "split_orl", "train_val_duplicates", "require"]


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    locate: Callable[..., Path]
    how: str
    checksums: tuple[str, ...]  # SHA256SUMS files, relative to the data set folder
    stats: Callable[[Path], dict]
    fetch: Callable[[Path], dict] | None = None
    fetch_note: str = ""


def _orl_stats(root: Path) -> dict:
    base = root / "att_faces"
    people = [p for p in base.iterdir() if p.is_dir()]
    return {"images": sum(1 for p in people for _ in p.glob("*.pgm")), "identities": len(people),
            "splits": {"classic 5/5": "images 1-5 train, 6-10 test"}}


def _lfw_stats(root: Path) -> dict:
    counts = lfw.people_counts(root.parent)
    out = {"images": sum(counts.values()), "identities": len(counts),
           "identities_ge20": sum(c >= 20 for c in counts.values()),
           "identities_ge70": sum(c >= 70 for c in counts.values()), "splits": {}}
    for f in ("pairsDevTrain.txt", "pairsDevTest.txt", "pairs.txt"):
        if (root / f).exists():
            try:
                out["splits"][f] = f"{len(read_pairs(root / f, root.parent))} pairs"
            except FacelabError as exc:
                out["splits"][f] = f"unreadable: {exc}"
    return out


#: per-class counts of the official FER2013 release, the structural check for a data set published without checksums
FER_OFFICIAL_COUNTS = {"train": [3995, 436, 4097, 7215, 4830, 3171, 4965],
                       "val": [467, 56, 496, 895, 653, 415, 607],
                       "test": [491, 55, 528, 879, 594, 416, 626]}


def _fer_stats(root: Path) -> dict:
    splits = load_fer2013(npz=root / "fer2013.npz")
    return {"official_counts": all(np.bincount(v.y, minlength=7).tolist() == FER_OFFICIAL_COUNTS[k]
                                   for k, v in splits.items()), "images": int(sum(len(s) for s in splits.values())), "classes": len(FER_LABELS),
            "splits": {k: {"usage": fer2013.SPLIT_TO_USAGE[k], "images": len(v),
                           "per_class": np.bincount(v.y, minlength=7).tolist()} for k, v in splits.items()},
            "train_copies_of_val": int(train_val_duplicates(splits).sum()) if {"train", "val"} <= set(splits) else None}


def _cmu_stats(root: Path) -> dict:
    items = load_cmu_mit(root.parent)
    return {"images": len(items), "faces": int(sum(len(i["boxes"]) for i in items)),
            "face_free_images": sum(len(i["boxes"]) == 0 for i in items), "splits": {"test": "sets A+B"}}


def _dlib_stats(root: Path) -> dict:
    tr, te = load_dlib_boxes("training", root=root.parent), load_dlib_boxes("testing", root=root.parent)
    return {"images": len(tr) + len(te), "faces": int(sum(len(i["boxes"]) for i in tr + te)),
            "splits": {"training": f"{len(tr)} images", "testing": f"{len(te)} images"}}


def _caltech_stats(root: Path) -> dict:
    return {"images": sum(1 for _ in (root / "Caltech_CropFaces").glob("*.jpg")), "splits": {}}


def _nonface_stats(root: Path) -> dict:
    return {"images": sum(1 for _ in root.glob("*.jpg")), "splits": {}}


DATASETS: dict[str, DatasetInfo] = {d.name: d for d in [
    DatasetInfo("orl_att_faces", "ORL / AT&T Database of Faces", orl.path, orl.HOW, ("SHA256SUMS.txt",), _orl_stats,
                fetch_note="no official download of the PGM release is online"),
    DatasetInfo("lfw", "Labeled Faces in the Wild", lfw.path, lfw.HOW, ("SHA256SUMS_lfw_images.txt",), _lfw_stats,
                fetch=lfw.fetch),
    DatasetInfo("fer2013", "FER2013 facial expressions", fer2013.path, fer2013.HOW, (), _fer_stats,
                fetch_note="Kaggle requires a login: download fer2013.csv, then `facelab data prepare fer2013 --csv FILE`"),
    DatasetInfo("cmu_mit_frontal_faces", "CMU+MIT frontal face test sets A+B", detection_sets.cmu_mit_path,
                detection_sets.HOW_CMU, ("SHA256SUMS.txt",), _cmu_stats,
                fetch_note="no official download is online any more"),
    DatasetInfo("dlib_faces_boxes", "dlib face boxes on PASCAL VOC photos", detection_sets.dlib_path,
                detection_sets.HOW_DLIB, ("SHA256SUMS.txt",), _dlib_stats,
                fetch_note="copy dlib's examples/faces/ folder"),
    DatasetInfo("caltech_web_faces_crops", "Caltech 10,000 Web Faces, 36x36 crops", detection_sets.caltech_path,
                detection_sets.HOW_CALTECH, ("SHA256SUMS.txt",), _caltech_stats,
                fetch_note="no official download of the crops"),
    DatasetInfo("non_face_scenes", "Scenes without faces", detection_sets.non_face_path, detection_sets.HOW_NONFACE,
                ("SHA256SUMS.txt",), _nonface_stats, fetch_note="no official download"),
]}


def require(*names: str, root=None) -> None:
    """Raise :class:`DatasetNotFoundError` for the first missing data set (notebooks call this first)."""
    for n in names:
        DATASETS[n].locate(root)


def dataset_status(name: str, root=None, verify: bool = False) -> dict:
    """Found or missing, counts, and (with ``verify``) whether the SHA256SUMS files check out."""
    info = DATASETS[name]
    base = Path(root) if root is not None else data_home()
    entry = {"name": name, "title": info.title, "path": str(base / name)}
    try:
        folder = info.locate(base)
    except DatasetNotFoundError as exc:
        entry.update(found=False, looked=exc.looked, how=info.how)
        return entry
    entry["found"] = True
    try:
        entry.update(info.stats(folder))
    except (FacelabError, OSError, ValueError) as exc:  # one damaged data set must not hide the others
        entry["error"] = str(exc)
    if verify:
        sums = [folder / s for s in info.checksums if (folder / s).exists()]
        if not sums:
            entry["checksums"] = "no checksum list" + (
                "; per-class counts match the official release" if entry.get("official_counts") else "")
        else:
            try:
                results = [verify_sha256sums(folder, s) for s in sums]
            except FacelabError as exc:  # a damaged checksum list
                entry["checksums"], entry["checksum_detail"] = "FAILED", [{"ok": False, "error": str(exc)}]
            else:
                entry["checksums"] = "ok" if all(r["ok"] for r in results) else "FAILED"
                entry["checksum_detail"] = results
    return entry


def list_datasets(root=None, verify: bool = False) -> list[dict]:
    """:func:`dataset_status` of every data set; a damaged one gets an ``error`` entry and the others are still listed."""
    return [dataset_status(n, root, verify) for n in DATASETS]


def fetch(name: str, root=None) -> dict:
    """Use the official download where one exists; otherwise say how to obtain the data set."""
    if name not in DATASETS:
        raise FacelabError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    info = DATASETS[name]
    if info.fetch is None:
        raise FacelabError(f"{name}: {info.fetch_note}. {info.how}")
    base = Path(root) if root is not None else data_home()
    base.mkdir(parents=True, exist_ok=True)
    return info.fetch(base)


def class_balance(labels, names=None) -> dict:
    """Counts per label, by name when given (for the data notebook and dataset cards)."""
    c = Counter(np.asarray(labels).tolist())
    return {(names[k] if names else k): int(v) for k, v in sorted(c.items())}
