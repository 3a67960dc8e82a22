"""`facelab bench` (the notebooks through papermill, then the report) and `facelab report`."""
from __future__ import annotations

import sys

from ..config import DEFAULT_PROFILE, PROFILES
from .output import print_json


def _cmd_bench(args) -> int:
    from ..bench.runner import run_bench

    summary = run_bench(profile=args.profile, stages=args.stages, report=not args.no_report, resume=args.resume)
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
    from ..report import render_report

    problems: list = []
    out = render_report(problems=problems)
    written = {"report": str(out)}
    if args.publish is not None:
        from ..report.publish import MAX_PUBLISHED_BYTES, publish_report

        pub = publish_report(out=args.publish or None)
        written["published"] = f"{pub['out']} ({len(pub['notebooks'])} notebooks, {pub['bytes'] / 2 ** 20:.1f} MiB)"
        if pub["too_large"]:
            print(f"warning: {pub['out']} is over {MAX_PUBLISHED_BYTES // 2 ** 20} MiB; too large to commit",
                  file=sys.stderr)
    if args.update_readme:
        from ..report import update_readme

        written["readme"] = str(update_readme(args.update_readme))
    if args.update_cards:
        from ..affect.cards import write_cards
        from ..report import update_cards

        cards = [str(c) for c in write_cards()] + [str(c) for c in update_cards()]
        written["cards"] = ", ".join(cards) or "(no card had results to update)"
    print_json(written) if args.json else print("wrote " + ", ".join(written.values()))
    return 1 if problems else 0  # a bad results file was named on stderr and marked in the report


def register(commands, train, evaluate) -> None:
    p = commands.add_parser("bench", help="run the notebooks with papermill, then write reports/index.html",
                            description="Execute notebooks/NN_*.ipynb with papermill into reports/executed/, convert "
                                        "them to HTML, and render reports/index.html. A stage whose data set is "
                                        "missing is skipped with the reason. Earlier results of a notebook are "
                                        "replaced only when its new run succeeds.")
    p.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE,
                   help="quick: minutes on 2 CPU cores, tiny subsets (what the tests run); full: the published "
                        f"numbers (default {DEFAULT_PROFILE})")
    p.add_argument("--stages", nargs="+", metavar="STAGE",
                   help="only these notebooks, by name without number (e.g. data detection) or number (01)")
    p.add_argument("--no-report", action="store_true", help="skip rendering reports/index.html")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", dest="resume", action="store_true", default=None,
                       help="skip notebooks that finished earlier in this profile and are unchanged, their results "
                            "still there (the default for --profile full)")
    again.add_argument("--rerun", dest="resume", action="store_false",
                       help="run every chosen notebook again (the default for --profile quick)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_bench)

    p = commands.add_parser("report", help="render reports/index.html from reports/results/*.json")
    p.add_argument("--update-readme", metavar="README", nargs="?", const="README.md",
                   help="also rewrite the results table between the <!-- results:start/end --> markers of README.md")
    p.add_argument("--update-cards", action="store_true",
                   help="also write the expression/emotion model cards from their training histories, and rewrite "
                        "the benchmark table of each model card in facelab/weights/ that has "
                        "<!-- results:stage=NAME --> ... <!-- results:end --> markers, from NAME's results file")
    p.add_argument("--publish", metavar="DIR", nargs="?", const="",
                   help="also copy the finished full-profile run (results, executed notebooks as HTML, its own "
                        "index.html) to DIR (default reports/full, the published run that git keeps); refused unless "
                        "every notebook last finished in the full profile")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_report)
