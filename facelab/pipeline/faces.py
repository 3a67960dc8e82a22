"""The one path from image files to each model's input: read, detect (the detector registry's default unless told
otherwise), then cut every face the way the model's registry entry asks (:class:`facelab.models.InputSpec`: the
margin around the detector's box, the size, the colour), or, for inputs that are face crops already, the entry's
crop policy on the whole image. Every CLI command that detects goes through here, so they agree on the detector,
the framing and the numbering of faces (per image, from 1, in the detector's order: best score first)."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BadInputError, FacelabError
from ..models.inputs import CropPolicy, policy_for
from ..models.registry import InputSpec
from ..preprocess import crop_face, list_images, read_image, to_mode
from .framing import refine_box


@dataclass
class Face:
    """One face of one image: its number in the image (from 1), box (x, y, w, h), detection score (None for a
    given crop) and the model input cut from it."""

    number: int
    box: tuple[float, float, float, float]
    score: float | None
    crop: np.ndarray = field(repr=False)

    def box_list(self, ndigits: int = 2) -> list[float]:
        """The box as every command prints it (as :meth:`facelab.detection.Detection.to_dict` does)."""
        return [round(float(v), ndigits) for v in self.box]


@dataclass
class ImageFaces:
    """An input file and its faces, or the one-line reason it could not be read."""

    image: str
    faces: list[Face] = field(default_factory=list)
    error: str | None = None


def expand_paths(paths, suffixes=None) -> list[tuple[str, str | None]]:
    """(file, None) for every image file (or file with one of ``suffixes``) named or inside a named folder, or
    (path, error) for a folder without any; any other file is kept as it is, so that reading it says what is
    wrong with it."""
    out = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = list_images([p], suffixes=suffixes) if suffixes else list_images([p])
            out.extend((str(f), None) for f in files)
            if not files:
                out.append((str(p), f"{p}: folder holds no {'image or video' if suffixes else 'image'} files"))
        else:
            out.append((str(p), None))
    if not out:
        raise FacelabError("no image files given")
    return out


def whole_image_policy(spec: InputSpec, policy: str | None = None) -> CropPolicy:
    """The crop policy for an input that is one face already: ``policy`` or the entry's, at the entry's size."""
    base = policy_for(policy or spec.crop)
    return CropPolicy(base.fraction, base.y_offset, spec.size or base.size)


def crop_box(image: np.ndarray, box, spec: InputSpec, detector_name: str | None):
    """(square to cut, margin) for the face a detector found at ``box``, as ``spec``'s model was trained: the box
    refined by the detector's refiner where the framing table names one, then that detector's calibrated framing of
    the model's crop policy (:mod:`.framing`); without a fitted framing, the box grown by the model's margin."""
    framings, refiners = _framing_tables()
    refiner = refiners.get(detector_name)
    if refiner and spec.crop in framings.get(refiner, {}):
        refined = refine_box(image, box, _detector(refiner))
        if refined is not None:
            return framings[refiner][spec.crop].crop_box(refined), 0.0
    framing = framings.get(detector_name, {}).get(spec.crop)
    return (framing.crop_box(box), 0.0) if framing is not None else (tuple(box), spec.margin)


def model_crop(image: np.ndarray, box, spec: InputSpec, detector_name: str | None) -> np.ndarray:
    """The input ``spec`` wants from the face a detector found at ``box`` (:func:`crop_box`)."""
    square, margin = crop_box(image, box, spec, detector_name)
    return crop_face(to_mode(image, spec.colour), square, spec.size, margin=margin)


@functools.cache
def _framing_tables() -> tuple[dict, dict]:
    from .framing import load_framings, load_refiners

    return load_framings(), load_refiners()


@functools.cache
def _detector(name: str):
    from ..detection import get_detector

    return get_detector(name)


def faces_in_image(image: np.ndarray, spec: InputSpec, detector=None, policy: str | None = None) -> list[Face]:
    """The faces of one image as ``spec`` wants them: detected (``detector``) or, with no detector, the whole
    image under the crop policy."""
    if detector is None:
        box = tuple(float(v) for v in whole_image_policy(spec, policy).box(*image.shape[:2]))
        return [Face(1, box, None, crop_face(to_mode(image, spec.colour), box, spec.size))]
    return [Face(k, tuple(float(v) for v in d.box), float(d.score), model_crop(image, d.box, spec, detector.name))
            for k, d in enumerate(detector.detect(image), 1)]


def faces_from_paths(paths, spec: InputSpec, detector=None, policy: str | None = None) -> list[ImageFaces]:
    """Per input file its faces (:func:`faces_in_image`), or its error: a bad file never stops the others."""
    items = []
    for path, error in expand_paths(paths):
        if error:
            items.append(ImageFaces(path, error=error))
            continue
        try:
            image = read_image(path, "bgr")
        except BadInputError as exc:
            items.append(ImageFaces(path, error=str(exc)))
            continue
        items.append(ImageFaces(path, faces_in_image(image, spec, detector, policy)))
    return items


def stacked_crops(items: list[ImageFaces], spec: InputSpec) -> np.ndarray:
    """Every face crop of ``items`` in order, as one uint8 array (N, size, size) (empty when there is none)."""
    crops = [f.crop for it in items for f in it.faces]
    return np.stack(crops) if crops else np.zeros((0, spec.size, spec.size), np.uint8)
