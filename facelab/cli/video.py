"""`facelab video`: the faces of a video (file, camera index or stream URL) linked into tracks, with identity,
expression and affect per track (:func:`facelab.pipeline.video.analyze_video`)."""
from __future__ import annotations

from ..detection.registry import DETECTORS
from .output import output_folder, print_json, shown


def cmd_analyze_video(args) -> int:
    from ..pipeline.analyzer import FaceAnalyzer
    from ..pipeline.video import analyze_video

    out = output_folder(args.out) if args.out else None
    source = args.path
    analyzer = FaceAnalyzer(detector=args.detector, expression=None, emotion=None, min_face=args.min_face)
    result = analyze_video(source, analyzer, gallery=args.gallery, out_dir=out, every=args.every,
                           max_frames=args.max_frames)
    doc = result.to_dict()
    doc["video"] = shown(doc["video"])
    if args.json:
        print_json(doc)
        return 0
    info = result.info
    print(f"{doc['video']}: {info.frames_read} frame(s) read"
          + (f", {info.bad_frames} broken" if info.bad_frames else "")
          + (", ended before the frames its container claims" if info.ended_early else "")
          + (f"; faces detected on 1 frame in {args.every} ({result.frames_processed} frames)" if args.every > 1 else "")
          + f"; {len(result.tracks)} track(s)"
          + (f" ({doc['frames_per_s']} frames/s)" if doc["frames_per_s"] else ""))
    for t in doc["tracks"]:
        who = t.get("identity")
        who = f"{who['name']} ({who['votes']}/{who['frames_voted']} frames)" if isinstance(who, dict) else (who or "")
        bits = [b for b in (who, t.get("expression"), t.get("valence") and f"valence {t['valence']}",
                            t.get("arousal") and f"arousal {t['arousal']}") if b]
        print(f"  track {t['track']}: frames {t['first_frame']}-{t['last_frame']} ({t['frames_seen']} seen)"
              + (": " + ", ".join(bits) if bits else ""))
    for label, path in (("annotated video", result.video_out), ("tracks JSON", result.json_out)):
        if path:
            print(f"{label}: {shown(path)}")
    return 0


def _positive(text: str) -> int:
    import argparse

    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(commands, train, evaluate) -> None:
    p = commands.add_parser(
        "video", help="faces of a video linked into tracks, with identity, expression and affect per track",
        description="Read a video file (anything OpenCV reads), a camera index (0) or a stream URL frame by frame, "
                    "detect faces (the same detector and crops as `facelab analyze`), link them into tracks by "
                    "box overlap and embedding similarity (a face gone for a few frames is resumed on its track), "
                    "and give per track: frame range and boxes, identity against --gallery by a vote over its "
                    "frames, expression (LSTM) and valence/arousal (GRU) over windows of up to 24 frames. A "
                    "truncated video gives the frames it had; an unreadable one is one error line.")
    p.add_argument("path", metavar="PATH", help="video file, camera index, or stream URL")
    p.add_argument("--gallery", metavar="DB", help="a face gallery (SQLite file, or sqlite:///path) to identify against")
    p.add_argument("--detector", choices=DETECTORS.names(), default=DETECTORS.default,
                   help=f"face detector: %(choices)s (default {DETECTORS.default})")
    p.add_argument("--every", type=_positive, default=2, metavar="K",
                   help="detect on every K-th frame only; the annotated copy keeps every frame, with the last boxes "
                        "in between, and a window of the sequence models is 24 detected frames (default 2: about "
                        "20 frames/s at 640x480 on 2 cores, where every frame (1) runs at about 12; "
                        "docs/benchmarks/video_bench.py)")
    p.add_argument("--max-frames", type=_positive, metavar="N", help="stop after N frames (a camera or stream)")
    p.add_argument("--min-face", type=_positive, metavar="PX", default=None,
                   help="smallest face width searched for, in pixels (default: the detector's own; the CNN detector's "
                        "is min_face in facelab/weights/detection_cnn.json); a larger one makes detection faster")
    p.add_argument("--out", metavar="DIR", help="write the annotated video and the tracks JSON here (never overwriting)")
    p.add_argument("--json", action="store_true", help="print JSON: per track its frames, boxes, identity, "
                                                      "expression and affect over time")
    p.set_defaults(func=cmd_analyze_video)
