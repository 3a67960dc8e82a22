"""The CNN detector's pyramid and cascade speed settings, swept together on the detection validation split.

:func:`facelab.detection.train.calibrate_cnn` with ``speed_settings=CNN_SPEED_SETTINGS``: every (smallest face,
scale step) pair with every (stage-1 threshold, stage-1 peaks only, chained pyramid) setting, timed taking turns with
Haar alt2 image by image, scored by AP@0.3 on the validation split (never CMU+MIT). The shipped weights are not
touched: the config the rule would choose is written to ``--config-dir``. Run it on an idle machine: the CNN's time
relative to Haar alt2 moves with the load (TensorFlow and OpenCV share the cores differently), and the rule's
``max_time_vs_haar_alt2`` is a time ratio. Prints and writes JSON.

    python docs/benchmarks/cnn_speed_settings.py [--out docs/benchmarks/results/cnn_speed_settings.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/benchmarks/results/cnn_speed_settings.json")
    parser.add_argument("--config-dir", default="runs/cnn_speed_settings",
                        help="where the config the rule chooses is written (default runs/cnn_speed_settings)")
    args = parser.parse_args()
    from facelab.detection.cnn import CNNDetector
    from facelab.detection.train import CNN_SPEED_SETTINGS, calibrate_cnn

    shipped = CNNDetector.load().config
    result = calibrate_cnn(out_dir=args.config_dir, speed_settings=CNN_SPEED_SETTINGS)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "load_average_1min_at_end": load,
           "shipped": {k: getattr(shipped, k) for k in ("min_face", "scale_step", *CNN_SPEED_SETTINGS[0])},
           "chosen": {"min_face": result["min_face"], "scale_step": result["scale_step"], **result["speed_settings"]},
           **{k: result[k] for k in ("ap30_validation", "time_vs_haar_alt2_validation")}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps({k: out[k] for k in ("shipped", "chosen", "load_average_1min_at_end")}, indent=1))


if __name__ == "__main__":
    main()
