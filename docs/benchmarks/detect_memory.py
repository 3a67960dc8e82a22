"""Peak resident memory of `facelab detect` on a large photo (issue 23's target: <= 2 GB on a 48 MP photo).

Builds a photo of the given megapixels from a real non-face scene with LFW faces pasted in (ASSEMBLED: say so when
quoting), runs `facelab detect --json` on it in a child process, and reads the child's peak resident set size.
Prints JSON.

    python docs/benchmarks/detect_memory.py [--megapixels 48] [--model cnn]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", type=float, default=48.0)
    parser.add_argument("--model", default="cnn")
    args = parser.parse_args()
    import cv2
    import numpy as np

    from facelab.data import lfw, list_non_face_scenes
    from facelab.preprocess import read_image

    w = int((args.megapixels * 1e6 * 4 / 3) ** 0.5)
    h = int(w * 3 / 4)
    canvas = cv2.resize(read_image(list_non_face_scenes()[0], "bgr"), (w, h), interpolation=cv2.INTER_LINEAR)
    face = read_image(lfw.image_path("Colin_Powell", 1), "bgr")
    side = h // 4
    canvas[h // 3:h // 3 + side, w // 3:w // 3 + side] = cv2.resize(face, (side, side))
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "large.jpg"
        cv2.imwrite(str(photo), canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])
        del canvas
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        run = subprocess.run([sys.executable, "-m", "facelab.cli", "detect", "--model", args.model, "--json", str(photo)],
                             capture_output=True, text=True, env=env)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        faces = json.loads(run.stdout)[0].get("faces", []) if run.returncode == 0 else None
    print(json.dumps({"megapixels": round(w * h / 1e6, 1), "size": f"{w}x{h}", "model": args.model,
                      "returncode": run.returncode, "faces": None if faces is None else len(faces),
                      "peak_rss_gb": round(peak_kb / 1024 ** 2, 2), "target_gb": 2.0,
                      "stderr": run.stderr.strip().splitlines()[-1:] if run.returncode else []}, indent=2))


if __name__ == "__main__":
    main()
