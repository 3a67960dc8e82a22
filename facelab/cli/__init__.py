"""`facelab` command line: one entry point, one subcommand per task, on top of every layer.

One module per command group (``data``, ``bench``, ``detection``, ``features``, ``affect``), each with a
``register(commands, train, evaluate)`` function that adds its commands and its ``train`` / ``eval`` targets.
Command modules import model code inside the command functions, so ``facelab --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from ..errors import FacelabError  # noqa: E402
from .output import warn  # noqa: E402

#: the command groups, in the order `facelab --help` lists them
COMMAND_GROUPS = ["data", "bench", "detection", "features", "affect", "application", "video"]

EPILOG = """\
Data home: $FACELAB_DATA, else ../shared/datasets beside the checkout, else ./datasets
(`facelab data list` says which). Reports: reports/ (override with $FACELAB_REPORTS).
Expression/emotion CNNs compute in bfloat16 where the CPU has it natively (1.7x faster);
FACELAB_PRECISION=float32 forces float32 everywhere.
Every command that prints results accepts --json for scripts. Examples:
  facelab data list --verify
  facelab bench --profile quick
  facelab report
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facelab", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Teach and benchmark deep-learning face analysis: detection, features, identification, "
                    "expression and emotion, each beside the baselines people already use.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"facelab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser("train", help="train a stage's model (see `facelab train STAGE --help`)")
    train_sub = train.add_subparsers(dest="stage", metavar="STAGE", required=True)
    evaluate = sub.add_parser("eval", help="evaluate models on a data set (see `facelab eval STAGE --help`)")
    eval_sub = evaluate.add_subparsers(dest="stage", metavar="STAGE", required=True)

    for module_name in COMMAND_GROUPS:
        importlib.import_module(f"{__name__}.{module_name}").register(sub, train_sub, eval_sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except FacelabError as exc:
        warn(str(exc))
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except KeyboardInterrupt:
        print("facelab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
