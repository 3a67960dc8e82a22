"""How every command speaks: JSON for scripts, one line per problem, file names that print whatever their bytes."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def shown(path) -> str:
    """A path as text that any stdout can print: a file name that is not valid UTF-8 keeps its bytes as
    backslash escapes instead of raising UnicodeEncodeError and stopping the run."""
    raw = os.fsencode(path) if not isinstance(path, bytes) else path
    return raw.decode("utf-8", "backslashreplace")


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str, ensure_ascii=True)
    sys.stdout.write("\n")


def warn(message: str) -> None:
    """One line on stderr, as every command reports a bad input and goes on (a file name's undecodable bytes
    shown as escapes, never a UnicodeEncodeError)."""
    text = message.encode("utf-8", "backslashreplace").decode("utf-8")
    print(f"facelab: error: {text}", file=sys.stderr)


def add_training_output(parser, what: str, profile: bool = True) -> None:
    """The options every `facelab train` command shares: one profile default (``profile=False`` for the
    calibrations, which have none), and shipped weights replaced only when asked in so many words."""
    from ..config import DEFAULT_PROFILE, PROFILES

    if profile:
        parser.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE,
                            help=f"quick: the workflow on a subset in minutes; full: the recipe of the shipped weights "
                                 f"(default {DEFAULT_PROFILE})")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--out", help=f"where to write {what} (default: runs/<model>_<profile>/)")
    group.add_argument("--replace-shipped", action="store_true",
                       help="write into facelab/weights/, replacing the shipped weights (what a model card's "
                            "retrain command does)")


def training_out(args):
    """The ``out`` a train function gets from :func:`add_training_output`'s options."""
    from ..config import WEIGHTS_DIR

    return WEIGHTS_DIR if args.replace_shipped else args.out


def output_folder(out) -> Path:
    """The ``--out`` folder for annotated copies, made if missing; a file or an unusable place is one clear error
    before any model runs."""
    from ..errors import BadInputError

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BadInputError(out, "--out names a file; give a folder for the annotated copies")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(out, f"cannot create the --out folder ({exc.strerror})") from None
    if not os.access(out, os.W_OK):
        raise BadInputError(out, "the --out folder is not writable")
    return out


def write_image_once(folder, stem: str, image, suffix: str) -> str:
    """Write ``image`` as ``folder/<stem><suffix>.png``, numbered (``_2``, ``_3``...) when that name is taken, so an
    output never overwrites another (``a/face.jpg`` and ``b/face.jpg`` both keep theirs); a failed write is an
    error naming the file, never reported as written."""
    import cv2

    from ..errors import BadInputError

    target, k = folder / f"{stem}{suffix}.png", 2
    while target.exists():
        target, k = folder / f"{stem}{suffix}_{k}.png", k + 1
    if not cv2.imwrite(str(target), image) or not target.is_file():
        raise BadInputError(target, "could not be written")
    return str(target)
