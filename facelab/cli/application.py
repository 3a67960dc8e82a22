"""The application: `facelab analyze`, `facelab verify`, `facelab identify`, `facelab gallery ...`, and the two
calibrations the pipeline ships (`facelab train framing`, `facelab train openset`)."""
from __future__ import annotations

from pathlib import Path

from ..detection.registry import DETECTORS
from ..errors import BadInputError, FacelabError
from .video import _positive
from .output import add_training_output, output_folder, print_json, shown, training_out, warn, write_image_once


def _analyzer(args, **kw):
    from ..pipeline.analyzer import FaceAnalyzer

    return FaceAnalyzer(detector=args.detector, **kw)


def _largest(result):
    return max(result.faces, key=lambda f: f.box[2] * f.box[3]) if result.faces else None


def _annotate(image_path: str, row: dict, out: Path) -> str:
    import cv2

    from ..preprocess import read_image, to_mode

    image = to_mode(read_image(image_path, "bgr"), "bgr").copy()
    for f in row["faces"]:
        x, y, w, h = (int(round(v)) for v in f["box"])
        who = f.get("identity")
        who = who["name"] if isinstance(who, dict) else (who or "")
        label = " ".join(t for t in (f"{f['face']}", who, f.get("expression") or "", f.get("valence") or "") if t)
        cv2.rectangle(image, (x, y), (x + w, y + h), (0, 200, 0), 2)
        cv2.putText(image, label, (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 200, 0), 1, cv2.LINE_AA)
    return write_image_once(out, Path(image_path).stem, image, "_analyzed")


# ---------------------------------------------------------------- facelab analyze
def _print_row(row: dict) -> None:
    if "error" in row:
        warn(row["error"])
        return
    if "video" in row:
        print(f"{row['video']}: {row['frames_read']} frame(s), {len(row['tracks'])} track(s)"
              + (f" -> {row['annotated_video']}" if row.get("annotated_video") else ""))
        for t in row["tracks"]:
            who = t.get("identity")
            who = who["name"] if isinstance(who, dict) else (who or "")
            bits = [b for b in (who, t.get("expression"), t.get("valence") and f"valence {t['valence']}") if b]
            print(f"  track {t['track']}: frames {t['first_frame']}-{t['last_frame']}" + (": " + ", ".join(bits) if bits else ""))
        return
    print(f"{row['image']}: {len(row['faces'])} face(s)" + (f" -> {row['annotated']}" if "annotated" in row else ""))
    for f in row["faces"]:
        who = f.get("identity")
        who = f"{who['name']} ({who['similarity']:.2f}, confidence {who['confidence']:.2f})" if isinstance(who, dict) \
            else (who or "")
        bits = [b for b in (who, f.get("expression"), f.get("valence") and f"valence {f['valence']}",
                            f.get("arousal") and f"arousal {f['arousal']}") if b]
        print(f"  face {f['face']} at {f['box']}: " + ", ".join(bits))
    if "annotated_error" in row:
        warn(row["annotated_error"])


def cmd_analyze(args) -> int:
    from tqdm import tqdm

    from ..pipeline import batch

    out = output_folder(args.out) if args.out else None
    files = batch.collection(args.paths)
    todo = [f for f, err in files if not err]
    options = batch.BatchOptions(detector=args.detector, gallery=args.gallery, video_every=args.every,
                                 video_out=str(out) if out is not None else None)
    done = batch.read_done(Path(args.jsonl)) if args.jsonl else {}
    rows: dict[str, dict] = {f: dict(done[f]) for f in todo if f in done}
    pending = [f for f in todo if f not in rows]
    if rows:
        warn(f"{args.jsonl}: {len(rows)} file(s) already analysed there, skipped ({len(pending)} to go)")
    writer = batch.RowWriter(Path(args.jsonl)) if args.jsonl else None
    report = batch.BatchReport({}, {}, resumed=len(rows))
    client = batch.connect(args.dask) if args.dask and pending else None  # nothing left to do: no cluster
    try:
        stream = batch.run_batch(pending, options, client=client, report=report)
        for _, row in tqdm(stream, total=len(pending), desc="analyze", unit="file", disable=None, leave=False):
            if writer is not None:
                writer.write(row)
            rows[row.get("image", row.get("video"))] = row
    finally:
        if writer is not None:
            writer.close()
        if client is not None:
            client.close()
            if client.cluster is not None:
                client.cluster.close()
    ordered, failed = [], 0
    for f, err in files:
        row = {"image": f, "error": err} if err else dict(rows[f])
        key = "video" if "video" in row else "image"
        row[key] = shown(row[key])
        if "error" in row:
            failed += 1
        elif out is not None and key == "image":
            try:
                row["annotated"] = _annotate(f, row, out)
            except BadInputError as exc:
                row["annotated_error"] = str(exc)
                failed += 1
        ordered.append(row)
    if args.json:
        print_json({"images": [r for r in ordered if "video" not in r], "videos": [r for r in ordered if "video" in r],
                    "seconds_per_stage": report.seconds_per_stage, "detector": args.detector or DETECTORS.default,
                    "gallery": str(args.gallery) if args.gallery else None,
                    "dask": {"scheduler": args.dask, "workers": report.workers} if args.dask else None,
                    "resumed_from_jsonl": report.resumed})
        return 1 if failed else 0
    for row in ordered:
        _print_row(row)
    return 1 if failed else 0


# ---------------------------------------------------------------- facelab verify
def cmd_verify(args) -> int:
    import numpy as np

    analyzer = _analyzer(args, expression=None, emotion=None)
    rule = analyzer.open_set_rule()
    faces = []
    for path, result in zip((args.image_a, args.image_b), analyzer.analyze([args.image_a, args.image_b], ("identity",))):
        if result.error:
            raise FacelabError(result.error)
        face = _largest(result)
        if face is None:
            raise FacelabError(f"{shown(path)}: no face found")
        faces.append(face)
    a, b = (f.embedding / max(np.linalg.norm(f.embedding), 1e-12) for f in faces)
    similarity = float(np.dot(a, b))
    same, confidence = rule.decide(similarity)
    out = {"image_a": shown(args.image_a), "image_b": shown(args.image_b), "same_person": bool(same),
           "similarity": round(similarity, 5), "threshold": rule.threshold, "far": rule.far,
           "confidence": round(confidence, 5), "faces": [f.to_dict() for f in faces]}
    if args.json:
        print_json(out)
    else:
        print(f"{'same person' if same else 'different people'}: similarity {similarity:.3f} "
              f"(threshold {rule.threshold:.3f}, chosen at {rule.far:.1%} false accepts), confidence {confidence:.2f}")
    return 0


# ---------------------------------------------------------------- facelab identify / gallery
def cmd_identify(args) -> int:
    from ..pipeline.faces import expand_paths

    files = expand_paths(args.paths)
    analyzer = _analyzer(args, gallery=args.db, expression=None, emotion=None)
    good = [f for f, err in files if not err]
    results = iter(analyzer.analyze(good, ("identity",)))
    rows = []
    for f, err in files:
        r = None if err else next(results)
        if err or r.error:
            rows.append({"image": shown(f), "error": err or r.error})
            continue
        faces = [{"face": x.number, "box": [round(v, 2) for v in x.box], "identity": x.identity,
                  **({"candidate": x.candidate} if x.candidate else {})} for x in r.faces]
        rows.append({"image": shown(r.image), "faces": faces, **({} if faces else {"note": "no face found"})})
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            if "error" in row:
                warn(row["error"])
                continue
            if not row["faces"]:
                print(f"{row['image']}: no face found")
            for x in row["faces"]:
                who = x["identity"]
                print(f"{row['image']}: face {x['face']} at {x['box']}: "
                      + (f"{who['name']} (similarity {who['similarity']:.3f}, confidence {who['confidence']:.2f})"
                         if isinstance(who, dict) else "unknown"))
    return 1 if any("error" in r for r in rows) else 0


def _gallery(args):
    from ..gallery import open_gallery

    analyzer = _analyzer(args, expression=None, emotion=None) if getattr(args, "needs_model", False) else None
    rule = analyzer.open_set_rule() if analyzer else None
    return open_gallery(args.db, rule=rule), analyzer


def cmd_gallery_enroll(args) -> int:
    import numpy as np

    from ..gallery import image_sha256

    args.needs_model = True
    gallery, analyzer = _gallery(args)
    with gallery:
        vecs, hashes, used = [], [], []
        for path, result in zip(args.images, analyzer.analyze(args.images, ("identity",))):
            if result.error:
                raise FacelabError(f"{result.error} (nothing enrolled)")
            face = _largest(result)
            if face is None:
                raise FacelabError(f"{shown(path)}: no face found (nothing enrolled)")
            vecs.append(face.embedding)
            hashes.append(image_sha256(path))
            used.append({"image": shown(path), "face": face.number, "box": [round(v, 2) for v in face.box],
                         "faces_in_image": len(result.faces)})
        done = gallery.enroll(args.name, np.stack(vecs), analyzer.embedder_name, analyzer.model_version, hashes,
                              mode="add" if args.add else "new")
    out = {"name": done.name, "created": done.created, "added": done.added, "total": done.total, "faces": used}
    if args.json:
        print_json(out)
    else:
        print(f"{'enrolled' if done.created else 'added to'} {done.name}: {done.added} face(s), {done.total} in all")
        for u in used:
            if u["faces_in_image"] > 1:
                print(f"  {u['image']}: {u['faces_in_image']} faces, the largest (face {u['face']}) enrolled")
    return 0


def cmd_gallery_list(args) -> int:
    gallery, _ = _gallery(args)
    with gallery:
        people = gallery.people()
        held = gallery.held_model()
    rows = [{"name": p.name, "embeddings": p.embeddings, "created": p.created, "updated": p.updated} for p in people]
    if args.json:
        print_json({"people": rows, "model": held._asdict() if held else None})
    else:
        for r in rows:
            print(f"{r['name']}\t{r['embeddings']} face(s)\tupdated {r['updated']}")
        if not rows:
            print("(the gallery is empty)")
    return 0


def cmd_gallery_rename(args) -> int:
    gallery, _ = _gallery(args)
    with gallery:
        gallery.rename(args.old, args.new)
    print_json({"renamed": args.old, "to": args.new}) if args.json else print(f"renamed {args.old} to {args.new}")
    return 0


def cmd_gallery_remove(args) -> int:
    gallery, _ = _gallery(args)
    with gallery:
        n = gallery.remove(args.name)
    print_json({"removed": args.name, "embeddings": n}) if args.json else \
        print(f"removed {args.name}: {n} face(s) deleted, the file compacted")
    return 0


def cmd_gallery_export(args) -> int:
    gallery, _ = _gallery(args)
    with gallery:
        info = gallery.export_to(args.file)
    print_json(info) if args.json else print(f"exported {info['people']} people, {info['embeddings']} faces to {args.file}")
    return 0


def cmd_gallery_import(args) -> int:
    gallery, _ = _gallery(args)
    with gallery:
        done = gallery.import_from(args.file)
    print_json({"imported": [d.name for d in done]}) if args.json else print(f"imported {len(done)} people")
    return 0


# ---------------------------------------------------------------- facelab train framing / openset
def cmd_train_framing(args) -> int:
    from ..pipeline.framing import fit_framings, write_framing_table

    refine = dict(r.split("=", 1) for r in args.refine) if args.refine else {"cnn": "haar-alt2"}
    detectors = sorted(set(args.detectors) | set(refine.values()))
    table = fit_framings(detectors, n_photos=args.photos, progress=not args.json, refine_with=refine)
    out = write_framing_table(table, training_out(args) or Path("runs") / "pipeline_framing")
    print_json({"written": str(out), **table}) if args.json else print(f"wrote {out}")
    return 0


def cmd_train_openset(args) -> int:
    from ..pipeline.openset import fit_openset, write_openset

    record = fit_openset(args.embedder, args.detector, far=args.far)
    out = write_openset(record, training_out(args) or Path("runs") / "openset")
    rule = record["rules"][record["default_detector"]]
    if args.json:
        print_json({"written": str(out), **record})
    else:
        print(f"wrote {out}: threshold {rule['threshold']:.4f} at FAR {args.far:.1%} on pairsDevTrain photos; "
              f"pairsDevTest TAR {rule['test_pairsDevTest']['tar']:.3f} at FAR {rule['test_pairsDevTest']['far']:.4f}")
    return 0


def register(commands, train, evaluate) -> None:
    from ..features.registry import EMBEDDERS

    def detector_option(p):
        p.add_argument("--detector", choices=DETECTORS.names(), default=DETECTORS.default,
                       help=f"face detector: %(choices)s (default {DETECTORS.default})")

    p = commands.add_parser("analyze", help="faces in photos with identity, expression and affect (the whole pipeline)",
                            description="Detect every face, cut each model's crop (the detector's calibrated framing), "
                                        "and give per face: box, detection score, identity against --gallery (or "
                                        "'unknown' below the embedding's open-set threshold), expression with scores, "
                                        "valence and arousal. A bad file is reported by name; the others go on (exit 1).")
    p.add_argument("paths", nargs="+", metavar="PATH", help="photos, videos, or folders of them")
    p.add_argument("--gallery", metavar="DB", help="a face gallery (SQLite file, sqlite:///path, or postgresql://...) "
                                                  "to identify against")
    detector_option(p)
    p.add_argument("--out", metavar="DIR", help="write annotated copies here (never overwriting a file); a video's "
                                                "annotated copy and its tracks JSON too")
    p.add_argument("--every", type=_positive, default=2, metavar="K",
                   help="videos: detect on every K-th frame (default 2; see `facelab video --help`)")
    p.add_argument("--jsonl", metavar="FILE", help="append each file's JSON row to FILE as it is finished (a killed "
                                                  "run keeps them; rerun with the same FILE to skip the files done)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run on a Dask cluster: a scheduler address (tcp://host:8786), or local / local:N for N "
                        "worker processes here; one model load per worker, the same JSON as without --dask "
                        "(the gallery and the files must be reachable from the workers)")
    p.add_argument("--json", action="store_true",
                   help="print JSON: {images: [{image, width, height, faces: [...]}], videos: [{video, tracks: "
                        "[...]}], seconds_per_stage, dask}")
    p.set_defaults(func=cmd_analyze)

    p = commands.add_parser("verify", help="are the largest faces of two photos the same person?",
                            description="Similarity of the largest face of each photo, the embedding's open-set "
                                        "threshold (chosen at a false-accept rate on validation photos: see "
                                        "facelab/weights/features_cnn.openset.json) and a calibrated confidence.")
    p.add_argument("image_a")
    p.add_argument("image_b")
    detector_option(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_verify)

    p = commands.add_parser("identify", help="identify the faces of photos against a face gallery",
                            description="Per face: the gallery's best match when its similarity reaches the open-set "
                                        "threshold, with similarity and confidence; else 'unknown' (with the closest "
                                        "candidate).")
    p.add_argument("paths", nargs="+", metavar="IMAGE", help="image files or folders")
    p.add_argument("--db", required=True, help="the gallery (SQLite file, or sqlite:///path)")
    detector_option(p)
    p.add_argument("--json", action="store_true",
                   help='print JSON per image: {"image", "faces": [{"box", "identity": {name, similarity, '
                        'confidence} or "unknown"}]}')
    p.set_defaults(func=cmd_identify)

    g = commands.add_parser("gallery", help="the face gallery: enroll, list, rename, remove, export, import",
                            description="A face database (SQLite, WAL): people and the embeddings enrolled for them, "
                                        "with the model version that made them; writes are transactional and a "
                                        "removal deletes the person's data from the file.")
    gsub = g.add_subparsers(dest="gallery_command", metavar="ACTION", required=True)

    def common(p):
        p.add_argument("--db", required=True, help="the gallery (SQLite file, or sqlite:///path)")
        p.add_argument("--json", action="store_true", help="print JSON")

    p = gsub.add_parser("enroll", help="enrol a person from photos (the largest face of each)")
    p.add_argument("name")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--add", action="store_true", help="add to a person already enrolled (else the name must be new)")
    detector_option(p)
    common(p)
    p.set_defaults(func=cmd_gallery_enroll)
    p = gsub.add_parser("list", help="the people enrolled")
    common(p)
    p.set_defaults(func=cmd_gallery_list)
    p = gsub.add_parser("rename", help="rename a person")
    p.add_argument("old")
    p.add_argument("new")
    common(p)
    p.set_defaults(func=cmd_gallery_rename)
    p = gsub.add_parser("remove", help="delete a person and every row that holds their data")
    p.add_argument("name")
    common(p)
    p.set_defaults(func=cmd_gallery_remove)
    p = gsub.add_parser("export", help="write the gallery to a portable JSON file")
    p.add_argument("file")
    common(p)
    p.set_defaults(func=cmd_gallery_export)
    p = gsub.add_parser("import", help="read a file written by `gallery export` (all or nothing)")
    p.add_argument("file")
    common(p)
    p.set_defaults(func=cmd_gallery_import)

    def outputs(p, what):
        add_training_output(p, what, profile=False)
        p.add_argument("--json", action="store_true", help="print JSON")

    p = train.add_parser("framing", help="fit each detector's box-to-crop framing on LFW training-identity photos")
    p.add_argument("--detectors", nargs="+", choices=DETECTORS.names(), default=["cnn", "haar", "haar-alt2", "ssd"],
                   metavar="NAME", help=f"detectors to fit: {', '.join(DETECTORS)} (default cnn haar haar-alt2 ssd)")
    p.add_argument("--refine", nargs="*", metavar="DETECTOR=REFINER", help="refine a detector's boxes by another "
                   "before framing (default cnn=haar-alt2, chosen on pairsDevTrain)")
    p.add_argument("--photos", type=int, default=600, help="LFW photos to fit on (default 600)")
    outputs(p, "pipeline_framing.json")
    p.set_defaults(func=cmd_train_framing)

    p = train.add_parser("openset", help="choose the embedding's open-set threshold and confidence through the pipeline")
    p.add_argument("--embedder", choices=EMBEDDERS.names(baseline=False), default=EMBEDDERS.default,
                   help="%(choices)s (default %(default)s)")
    detector_option(p)
    p.add_argument("--far", type=float, default=0.01, help="false-accept rate the threshold is chosen at (default 0.01)")
    outputs(p, "<embedding>.openset.json")
    p.set_defaults(func=cmd_train_openset)
