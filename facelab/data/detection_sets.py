"""Detection data: CMU+MIT frontal test sets A+B, dlib's imglab boxes, Caltech face crops, non-face scenes.

Boxes are (x, y, w, h) in pixels of the image, as every facelab detector returns them.

**The face box convention** (:func:`face_box_from_points`): a square centred halfway between the eye centre and the
mouth centre, of side :data:`FACE_BOX_SIDE` x the eye-to-mouth distance: about brow to chin and ear to ear, the box
most detectors draw. Test ground truth (CMU+MIT, from its official landmarks), the validation split and every
detector's box map (:mod:`facelab.detection.calibration`) follow it, so IoU 0.5 means the same on every set.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..errors import BadInputError
from ..preprocess import clip_boxes, image_size, read_bytes, read_image
from ._common import MAX_TEXT_BYTES, FaceSet, locate, read_text_lines

CMU = "cmu_mit_frontal_faces"
DLIB = "dlib_faces_boxes"
CALTECH = "caltech_web_faces_crops"
NONFACE = "non_face_scenes"

HOW_CMU = ("No official download is online any more: copy the CMU/MIT 'test_scenes' folder (test/*.gif, list.html, "
           "ground_truth_landmarks.txt, ground_truth_bboxes.txt) into $FACELAB_DATA/cmu_mit_frontal_faces/ "
           "(see datasets/cmu_mit_frontal_faces.md).")
HOW_DLIB = ("Copy dlib's examples/faces/ (the 9 PASCAL VOC photos and training.xml / testing.xml) into "
            "$FACELAB_DATA/dlib_faces_boxes/ (see datasets/dlib_faces_boxes.md).")
HOW_CALTECH = ("Copy the 36x36 Caltech WebFaces crops ('Caltech_CropFaces/*.jpg') into "
               "$FACELAB_DATA/caltech_web_faces_crops/ (see datasets/caltech_web_faces_crops.md).")
HOW_NONFACE = ("Copy the face-free scene photos (*.jpg) into $FACELAB_DATA/non_face_scenes/ "
               "(see datasets/non_face_scenes.md).")


def _named_number_lines(file: Path, lines, n_values: int, form: str):
    """``(line number, file stem, values)`` for each ``name v1 ... vN`` line (blank and ``#`` lines skipped); a line
    with the wrong number of fields or values that are not finite numbers raises :class:`BadInputError` naming the
    file and line. The shared parser of the boxes and landmarks files."""
    for lineno, line in lines:
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) != n_values + 1:
            raise BadInputError(file, f"line {lineno}: expected {form}, got {line[:80]!r}")
        try:
            values = [float(v) for v in parts[1:]]
        except ValueError:
            raise BadInputError(file, f"line {lineno}: coordinates are not numbers: {line[:80]!r}") from None
        if not np.isfinite(values).all():
            raise BadInputError(file, f"line {lineno}: coordinates must be finite numbers, got {line[:80]!r}")
        yield lineno, Path(parts[0]).stem, values


def _read_box_lines(boxes_file: Path, lines=None) -> dict[str, list[tuple[float, float, float, float]]]:
    """Lines ``name x_min y_min x_max y_max`` → {file stem: [(x, y, w, h), ...]}.

    The file is UTF-8 (a BOM is accepted); a line with too few fields, coordinates that are
    not finite numbers (``nan``, ``inf``) or a box of no or negative size raises
    :class:`BadInputError` naming the file and line. ``lines``: the file's lines when already read.
    """
    boxes_file = Path(boxes_file)
    lines = read_text_lines(boxes_file, "a boxes file") if lines is None else lines
    out: dict[str, list] = defaultdict(list)
    for lineno, name, (x0, y0, x1, y1) in _named_number_lines(boxes_file, lines, 4, "'name x_min y_min x_max y_max'"):
        if x1 <= x0 or y1 <= y0:
            raise BadInputError(boxes_file, f"line {lineno}: empty box (x_max <= x_min or y_max <= y_min)")
        out[name].append((x0, y0, x1 - x0, y1 - y0))
    return dict(out)


read_boxes_file = _read_box_lines

#: side of the convention's square face box, in eye-to-mouth distances: the median of side / eye-to-mouth over
#: dlib's 43 hand-drawn imglab boxes (examples/faces, whose 68 landmarks give both), 2.3
FACE_BOX_SIDE = 2.3


def face_box_from_points(points) -> np.ndarray:
    """The convention's box (x, y, w, h) of one face or many from 6 points each (left eye, right eye, nose, left /
    centre / right mouth corner, as CMU+MIT lists them): (6, 2) -> (4,), (K, 6, 2) -> (K, 4)."""
    p = np.asarray(points, float)
    one = p.ndim == 2
    p = p.reshape(-1, 6, 2)
    eyes = p[:, :2].mean(1)
    mouth = p[:, 3:6].mean(1)
    side = FACE_BOX_SIDE * np.linalg.norm(mouth - eyes, axis=1)
    centre = (eyes + mouth) / 2
    boxes = np.column_stack([centre - side[:, None] / 2, side, side])
    return boxes[0] if one else boxes


def points_from_68(marks) -> np.ndarray:
    """The 6 CMU-style points of dlib's / iBUG's 68 landmarks, (68, 2) or (K, 68, 2) -> (…, 6, 2): eyes = the mean
    of each eye's six points, nose tip 30, mouth corners 48 and 54, mouth centre = the mean of the inner lips."""
    m = np.asarray(marks, float)
    out = np.stack([m[..., 36:42, :].mean(-2), m[..., 42:48, :].mean(-2), m[..., 30, :], m[..., 48, :],
                    (m[..., 62, :] + m[..., 66, :]) / 2, m[..., 54, :]], axis=-2)
    return out


def _read_landmark_lines(landmarks_file: Path, lines=None) -> dict[str, list[np.ndarray]]:
    """Lines ``name x1 y1 ... x6 y6`` (CMU+MIT's ``ground_truth_landmarks.txt``) → {file stem: [(6, 2) points]};
    a malformed line raises :class:`BadInputError` naming the file and line."""
    landmarks_file = Path(landmarks_file)
    lines = read_text_lines(landmarks_file, "a landmarks file") if lines is None else lines
    out: dict[str, list] = defaultdict(list)
    for _, name, values in _named_number_lines(landmarks_file, lines, 12, "a name and 12 coordinates"):
        out[name].append(np.array(values).reshape(6, 2))
    return dict(out)


def read_landmark_boxes(landmarks_file, lines=None) -> dict[str, list[tuple[float, float, float, float]]]:
    """A 6-point landmarks file as convention boxes: {file stem: [(x, y, w, h), ...]}."""
    return {k: [tuple(b) for b in face_box_from_points(np.array(v))]
            for k, v in _read_landmark_lines(Path(landmarks_file), lines).items()}


def read_ground_truth(path) -> tuple[dict[str, list[tuple[float, float, float, float]]], bool]:
    """(boxes by file stem, whether the file held landmarks) of a boxes file (5 fields a line) or a 6-point
    landmarks file (13 fields a line: boxes by the face box convention), told apart by its first data line."""
    path = Path(path)
    lines = read_text_lines(path, "a boxes file")
    fields = next((len(line.split()) for _, line in lines if line.split() and not line.startswith("#")), 5)
    if fields == 13:
        return read_landmark_boxes(path, lines), True
    return _read_box_lines(path, lines), False


def cmu_mit_path(root=None) -> Path:
    return locate(CMU, CMU, "test_scenes/ground_truth_landmarks.txt", HOW_CMU, root)


def load_cmu_mit(root=None, boxes: str = "landmarks", clip: bool = True) -> list[dict]:
    """Every image of sets A+B (face-free ones included) with its boxes, sorted by name: the detection *test* set
    (nothing in facelab is tuned on it).

    Each item: ``{"path", "name", "boxes": float array (K, 4) as x, y, w, h}``. ``boxes="landmarks"`` (default)
    builds the convention's boxes from the official ``ground_truth_landmarks.txt`` (which also lists images of the
    other CMU sets; only A+B's are kept); a file name (``"ground_truth_bboxes.txt"``: the older head boxes, about
    3 x 3.1 eye-to-mouth) reads ``name x_min y_min x_max y_max`` lines and must name only images of A+B.
    Boxes past the border (faces cut by the frame) are clipped when ``clip``.
    """
    base = cmu_mit_path(root) / "test_scenes"
    files = [f for f in sorted((base / "test").iterdir()) if f.suffix.lower() in (".gif", ".jpg", ".png")]
    if boxes == "landmarks":
        gt = read_landmark_boxes(base / "ground_truth_landmarks.txt")
    else:
        gt = _read_box_lines(base / boxes)
        missing = set(gt) - {f.stem for f in files}
        if missing:
            raise BadInputError(base / boxes, f"names {len(missing)} image(s) not in test/: {sorted(missing)[:5]}")
    items = []
    for f in files:
        b = np.array(gt.get(f.stem, []), dtype=np.float64).reshape(-1, 4)
        if clip and len(b):
            b = clip_boxes(b, *image_size(f))
        items.append({"path": str(f), "name": f.stem, "boxes": b})
    return items


_LANDMARK_LINE = re.compile(r"^(\S+\.gif)((?:\s+-?[\d.]+){12})\s*$")


def read_cmu_landmarks(list_html=None, root=None) -> dict[str, dict[str, list[np.ndarray]]]:
    """Parse the official ``list.html``: {section title: {image stem: [(6, 2) landmark arrays]}}.

    Points per face: left eye, right eye, nose, left / centre / right mouth corner.
    """
    list_html = Path(list_html) if list_html else cmu_mit_path(root) / "test_scenes" / "list.html"
    text = read_bytes(list_html, MAX_TEXT_BYTES, "an HTML file").decode("latin-1")  # the 1990s file is Latin-1
    sections: dict[str, dict[str, list]] = {}
    for m in re.finditer(r"<h1>(.*?)</h1>.*?<pre>(.*?)</pre>", text, flags=re.S | re.I):
        title = re.sub(r"\s+", " ", m.group(1)).strip()
        faces: dict[str, list] = defaultdict(list)
        for line in m.group(2).splitlines():
            lm = _LANDMARK_LINE.match(line.strip())
            if lm:
                faces[Path(lm.group(1)).stem].append(np.array(lm.group(2).split(), dtype=float).reshape(6, 2))
        sections[title] = dict(faces)
    if not sections:
        raise BadInputError(list_html, "no '<h1>…</h1> <pre>…</pre>' landmark sections found")
    return sections


def dlib_path(root=None) -> Path:
    return locate(DLIB, DLIB, "testing.xml", HOW_DLIB, root)


def read_imglab_xml(xml_file) -> list[dict]:
    """dlib imglab XML → ``[{"path", "name", "boxes": (K, 4) x, y, w, h, "landmarks": (K, P, 2) or None}]``.

    Missing or non-numeric attributes, non-finite values and boxes of no or negative size
    raise :class:`BadInputError` naming the file, the image and the box (ElementTree keeps
    no line numbers for elements).
    """
    xml_file = Path(xml_file)
    data = read_bytes(xml_file, MAX_TEXT_BYTES, "an imglab XML file")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise BadInputError(xml_file, f"line {exc.position[0]}: not a readable imglab XML file: {exc}") from None
    _check_imglab_structure(xml_file, root)
    items = []
    for k, image in enumerate(root.iter("image")):
        name = image.get("file")
        if not name:
            raise BadInputError(xml_file, f"<image> number {k + 1} has no file attribute")
        boxes, marks = [], []
        for j, box in enumerate(image.iter("box")):
            where = f"image {name[:80]!r}, box {j + 1}"
            b = _numbers(xml_file, where, box, ("left", "top", "width", "height"))
            if b[2] <= 0 or b[3] <= 0:
                raise BadInputError(xml_file, f"{where}: width and height must be positive, got {b[2]:g} x {b[3]:g}")
            boxes.append(b)
            try:
                parts = sorted(box.iter("part"), key=lambda p: int(p.get("name") or "x"))
            except ValueError:
                raise BadInputError(xml_file, f"{where}: a <part> name is not an integer") from None
            marks.append([_numbers(xml_file, f"{where}, part {p.get('name')}", p, ("x", "y")) for p in parts])
        if len({len(m) for m in marks}) > 1:
            raise BadInputError(xml_file, f"image {name[:80]!r}: boxes have different numbers of landmarks")
        file = xml_file.parent / name
        items.append({"path": str(file), "name": file.stem, "boxes": np.array(boxes, float).reshape(-1, 4),
                      "landmarks": np.array(marks, float) if marks and marks[0] else None})
    return items


#: the elements of dlib's imglab format, by parent: anything else is a damaged or foreign file, whose boxes
#: would otherwise be dropped without a word
_IMGLAB_CHILDREN = {"dataset": {"name", "comment", "images"}, "images": {"image"}, "image": {"box"},
                    "box": {"part", "label"}, "part": set(), "label": set(), "name": set(), "comment": set()}


def _check_imglab_structure(xml_file: Path, root) -> None:
    if root.tag != "dataset" or root.find("images") is None:
        raise BadInputError(xml_file, f"not an imglab XML file: expected <dataset> holding <images>, got <{root.tag[:40]}>")
    for parent in root.iter():
        for child in parent:
            if child.tag not in _IMGLAB_CHILDREN.get(parent.tag, set()):
                raise BadInputError(xml_file, f"unknown element <{str(child.tag)[:40]}> inside <{parent.tag[:40]}>")


def _numbers(xml_file: Path, where: str, element, keys: tuple[str, ...]) -> list[float]:
    """The finite numeric attributes ``keys`` of ``element``, or a :class:`BadInputError` saying which is wrong."""
    try:
        values = [float(element.get(key)) for key in keys]
    except (TypeError, ValueError):  # TypeError: the attribute is missing
        raise BadInputError(xml_file, f"{where}: needs numeric attributes {', '.join(keys)}") from None
    if not np.isfinite(values).all():
        raise BadInputError(xml_file, f"{where}: {', '.join(keys)} must be finite numbers")
    return values


def load_dlib_boxes(split: str = "testing", landmarks: bool = False, root=None) -> list[dict]:
    """dlib's 9 VOC photos: ``training`` (4 images, 18 faces) or ``testing`` (5 images, 25 faces)."""
    suffix = "_with_face_landmarks" if landmarks else ""
    return read_imglab_xml(dlib_path(root) / f"{split}{suffix}.xml")


def caltech_path(root=None) -> Path:
    return locate(CALTECH, CALTECH, "Caltech_CropFaces", HOW_CALTECH, root)


def load_caltech_crops(root=None, limit: int | None = None) -> np.ndarray:
    """The 36x36 face crops as uint8 (N, 36, 36), sorted by file name."""
    files = sorted((caltech_path(root) / "Caltech_CropFaces").glob("*.jpg"))[:limit]
    return np.stack([read_image(f) for f in files])


def non_face_path(root=None) -> Path:
    base = locate(NONFACE, NONFACE, "", HOW_NONFACE, root)
    if not any(base.glob("*.jpg")):
        from ..errors import DatasetNotFoundError

        raise DatasetNotFoundError(NONFACE, str(base / "*.jpg"), HOW_NONFACE)
    return base


def list_non_face_scenes(root=None) -> list[Path]:
    """Paths of the scene photos (decode lazily: they are up to 1024x683 colour)."""
    return sorted(non_face_path(root).glob("*.jpg"))


def as_faceset(items: list[dict]) -> FaceSet:
    """Helper for notebooks: the images of a box list as a FaceSet (label = number of faces)."""
    return FaceSet([read_image(it["path"]) for it in items], np.array([len(it["boxes"]) for it in items]),
                   [], [it["path"] for it in items])
