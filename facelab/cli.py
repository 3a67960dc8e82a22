"""`facelab` command line: one entry point, one subcommand per task.

Stage packages add their own commands (``detect``, ``embed``, ``expression``, …)
and their ``train`` / ``eval`` targets through a ``commands`` module with a
``register(commands, train, evaluate)`` function, listed in ``STAGE_COMMANDS``.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from .errors import FacelabError  # noqa: E402

#: stage modules that add subcommands; a stage not yet written is simply absent
STAGE_COMMANDS = ["facelab.detection.commands", "facelab.recognition.commands", "facelab.affect.commands"]

EPILOG = """\
Data home: $FACELAB_DATA (default ./datasets). Reports: reports/ (override with $FACELAB_REPORTS).
Expression/emotion CNNs compute in bfloat16 where the CPU has it natively (1.7x faster);
FACELAB_PRECISION=float32 forces float32 everywhere.
Every command that prints results accepts --json for scripts. Examples:
  facelab data list --verify
  facelab bench --profile quick
  facelab report
"""


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


# ---------------------------------------------------------------- data
def _cmd_data_list(args) -> int:
    from .config import data_home
    from .data import list_datasets

    entries = list_datasets(verify=args.verify)
    if args.json:
        print_json({"data_home": str(data_home()), "datasets": entries})
        return 0
    print(f"data home: {data_home()}")
    for e in entries:
        if not e["found"]:
            print(f"  {e['name']:<26} MISSING  looked at {e['looked']}\n      how to obtain: {e['how']}")
            continue
        counts = ", ".join(f"{k} {e[k]}" for k in ("images", "faces", "identities", "classes", "face_free_images") if k in e)
        splits = e.get("splits") or {}
        split_txt = "; ".join(f"{k}: {v['images'] if isinstance(v, dict) else v}" for k, v in splits.items())
        check = f"  checksums {e['checksums']}" if "checksums" in e else "  (checksums: use --verify)"
        print(f"  {e['name']:<26} found    {counts}{check}\n      {e['path']}" + (f"\n      splits: {split_txt}" if split_txt else ""))
        if "error" in e:
            print(f"      problem: {e['error']}")
    return 0


def _cmd_data_fetch(args) -> int:
    from .data import fetch

    result = fetch(args.name)
    print_json(result) if args.json else print(f"{args.name}: fetched and verified, {result}")
    return 0


def _cmd_data_prepare(args) -> int:
    from .data import prepare_cache

    if args.name != "fer2013":
        raise FacelabError(f"`data prepare` knows fer2013 only, not {args.name!r}")
    out = prepare_cache(args.csv, args.out)
    print_json({"written": str(out)}) if args.json else print(f"wrote {out}")
    return 0


# ---------------------------------------------------------------- bench / report
def _cmd_bench(args) -> int:
    from .bench.runner import run_bench

    summary = run_bench(profile=args.profile, stages=args.stages, report=not args.no_report)
    if args.json:
        print_json(summary)
    else:
        for r in summary["this_run"]:
            extra = r.get("error") or r.get("reason") or ""
            print(f"  {r['notebook']:<28} {r['status']:<8} {r.get('seconds', 0):7.1f}s  {extra}")
        if summary.get("report"):
            print(f"report: {summary['report']}")
    return 0 if summary["ok"] else 1


def _cmd_report(args) -> int:
    from .report import render_report

    out = render_report()
    written = {"report": str(out)}
    if args.update_readme:
        from .report import update_readme

        written["readme"] = str(update_readme(args.update_readme))
    if args.update_cards:
        from .report import update_cards

        written["cards"] = ", ".join(str(c) for c in update_cards()) or "(no card had results to update)"
    print_json(written) if args.json else print("wrote " + ", ".join(written.values()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facelab", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Teach and benchmark deep-learning face analysis: detection, features, identification, "
                    "expression and emotion, each beside the baselines people already use.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"facelab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    data = sub.add_parser("data", help="list, fetch or prepare the data sets",
                          description="Data sets live under $FACELAB_DATA (default ./datasets).")
    dsub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    p = dsub.add_parser("list", help="every data set: found or missing, counts, splits, checksums")
    p.add_argument("--verify", action="store_true", help="also check the SHA256SUMS files (reads every file)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_data_list)
    p = dsub.add_parser("fetch", help="download a data set from its official source and verify it (needs internet)")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_data_fetch)
    p = dsub.add_parser("prepare", help="turn an official FER2013 CSV into facelab's npz cache")
    p.add_argument("name", choices=["fer2013"])
    p.add_argument("--csv", required=True, help="the official fer2013.csv (emotion,pixels,Usage)")
    p.add_argument("--out", help="npz to write (default $FACELAB_DATA/fer2013/fer2013.npz)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_data_prepare)

    p = sub.add_parser("bench", help="run the notebooks with papermill, then write reports/index.html",
                       description="Execute notebooks/NN_*.ipynb with papermill into reports/executed/, convert them "
                                   "to HTML, and render reports/index.html. A stage whose data set is missing is "
                                   "skipped with the reason. Earlier results of a notebook are replaced only when "
                                   "its new run succeeds.")
    p.add_argument("--profile", choices=["quick", "full"], default="quick",
                   help="quick: minutes on 2 CPU cores, tiny subsets (what the tests run); full: the published numbers")
    p.add_argument("--stages", nargs="+", metavar="STAGE",
                   help="only these notebooks, by name without number (e.g. data detection) or number (01)")
    p.add_argument("--no-report", action="store_true", help="skip rendering reports/index.html")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("report", help="render reports/index.html from reports/results/*.json")
    p.add_argument("--update-readme", metavar="README", nargs="?", const="README.md",
                   help="also rewrite the results table between the <!-- results:start/end --> markers of README.md")
    p.add_argument("--update-cards", action="store_true",
                   help="also rewrite the benchmark table of each model card in facelab/weights/ that has "
                        "<!-- results:stage=NAME --> ... <!-- results:end --> markers, from NAME's results file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_report)

    train = sub.add_parser("train", help="train a stage's model (see `facelab train STAGE --help`)")
    train_sub = train.add_subparsers(dest="stage", metavar="STAGE", required=True)
    evaluate = sub.add_parser("eval", help="evaluate models on a data set (see `facelab eval STAGE --help`)")
    eval_sub = evaluate.add_subparsers(dest="stage", metavar="STAGE", required=True)

    for module_name in STAGE_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that stage is not written yet
            raise
        module.register(sub, train_sub, eval_sub)
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
        print(f"facelab: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except KeyboardInterrupt:
        print("facelab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
