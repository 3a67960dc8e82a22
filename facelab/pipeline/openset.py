"""Verification and open-set identification through the pipeline, measured as a user meets them: whole LFW photos,
the shipped detector, the calibrated framing, the embedding. The open-set rule (threshold at a false-accept rate,
logistic confidence) is chosen on View 1's pairsDevTrain people and checked on pairsDevTest; ``facelab train
openset`` refits the shipped rule (``facelab/weights/<embedder>.openset.json``)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np

from ..config import WEIGHTS_DIR


def rule_file(embedder: str) -> str:
    from ..features import EMBEDDERS

    return EMBEDDERS[embedder].weights[0].rsplit(".", 1)[0] + ".openset.json" if EMBEDDERS[embedder].weights \
        else f"features_{embedder}.openset.json"


def central_face_embeddings(analyzer, paths) -> tuple[np.ndarray, np.ndarray]:
    """The embedding of the face nearest the centre of each photo (an LFW photo's person), through the pipeline;
    and a mask of the photos where a face was found."""
    detected = analyzer.detect(paths)
    kept, found = [], []
    for result, image, dets in detected:
        if result.error or not dets:
            kept.append((result, image, []))
            found.append(False)
            continue
        h, w = image.shape[:2]
        d = min(dets, key=lambda d: (d.box[0] + d.box[2] / 2 - w / 2) ** 2 + (d.box[1] + d.box[3] / 2 - h / 2) ** 2)
        kept.append((result, image, [d]))
        found.append(True)
    vecs = analyzer.embed(kept)
    dim = vecs.shape[1] if len(vecs) else analyzer.embedder.n_features_out_
    out = np.zeros((len(paths), dim), np.float32)
    out[np.asarray(found, bool)] = vecs
    return out, np.asarray(found, bool)


def pair_scores(vectors: dict, pairs, root=None) -> np.ndarray:
    """Cosine similarity of each pair from ``vectors`` {path: unit vector or None}; a photo without a face scores
    -1 (the pipeline cannot call it the same person)."""
    from ..data import pair_paths

    a, b, _ = pair_paths(pairs, root)
    out = []
    for pa, pb in zip(a, b):
        va, vb = vectors[str(pa)], vectors[str(pb)]
        out.append(-1.0 if va is None or vb is None else float(np.dot(va, vb)))
    return np.asarray(out)


def pipeline_vectors(analyzer, paths) -> dict:
    vecs, found = central_face_embeddings(analyzer, list(paths))
    return {str(p): (v / max(np.linalg.norm(v), 1e-12) if ok else None) for p, v, ok in zip(paths, vecs, found)}


def crop_vectors(embedder_name: str, paths) -> dict:
    """The --crop path: each whole photo under the embedder's crop policy, no detection."""
    from ..features import EMBEDDERS
    from ..models.inputs import load_crops, policy_for

    entry = EMBEDDERS[embedder_name]
    vecs = EMBEDDERS.create(embedder_name, crop="none").transform(load_crops(list(paths), policy_for(entry.inputs.crop)))
    return {str(p): v / max(np.linalg.norm(v), 1e-12) for p, v in zip(paths, vecs)}


def impostor_genuine(vectors: dict, pairs, root=None) -> tuple[np.ndarray, np.ndarray]:
    """(genuine, impostor) similarities over every two photos of the images in ``pairs``: same person or not. Many
    more impostor comparisons than the pair list's own (so a false-accept rate of 0.1 % can be measured)."""
    from ..data import pair_paths

    a, b, _ = pair_paths(pairs, root)
    photos = sorted({str(p) for p in a + b if vectors[str(p)] is not None})
    person = [p.rsplit("/", 2)[-2] for p in photos]
    mat = np.stack([vectors[p] for p in photos])
    sims = mat @ mat.T
    i, j = np.triu_indices(len(photos), 1)
    same = np.array([person[x] == person[y] for x, y in zip(i, j)])
    return sims[i, j][same], sims[i, j][~same]


#: the per-comparison false-accept rates a rule's table holds thresholds for
PAIR_FARS = (1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6)


def fit_rule(genuine, impostor, far: float = 0.01) -> dict:
    from ..evaluation.openset import fit_confidence, threshold_at_far

    # confidence with equal priors: P(same | similarity) for a comparison as likely the same person as not (the
    # pairs' own ratio, 1 genuine in 2,700, would call a clear match of an enrolled person 7 % sure)
    return {"threshold": round(float(threshold_at_far(genuine, impostor, far)), 6), "far": far,
            **{k: round(float(v), 6) for k, v in fit_confidence(genuine, impostor, balanced=True).items()},
            "confidence_prior": "equal (balanced classes)"}


def shipped_rule(embedder: str, detector: str, version: str):
    """The embedding's open-set rule for photos through ``detector``, bound to the embedding ``version``."""
    from ..gallery import OpenSetRule
    from ..models.weights import load_json

    data = load_json(WEIGHTS_DIR / rule_file(embedder), retrain="facelab train openset --replace-shipped")
    if data.get("version") != version:
        from ..errors import FacelabError

        raise FacelabError(f"{rule_file(embedder)} was fitted for another version of the {embedder} embedding "
                           f"({data.get('version')} != {version}): refit it with `facelab train openset`")
    rule = data["rules"].get(detector) or data["rules"][data["default_detector"]]
    return OpenSetRule(threshold=rule["threshold"], slope=rule["slope"], intercept=rule["intercept"], far=rule["far"],
                       model=embedder, version=version,
                       far_table=tuple((float(f), float(t)) for f, t in rule.get("far_table", ())))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def fit_openset(embedder: str = "cnn", detector: str | None = None, far: float = 0.01, root=None) -> dict:
    """The open-set rule of ``embedder`` for photos through ``detector`` (the registry default when None), chosen on
    the photos of View 1's pairsDevTrain (every two photos: same person or not) and checked, untouched, on those of
    pairsDevTest; with the View 1 verification accuracy of the pipeline and of the --crop path beside it."""
    from ..data import lfw, pair_paths, read_pairs
    from ..detection import DETECTORS
    from ..evaluation.openset import accept_rates, threshold_at_far
    from ..evaluation.verification import evaluate_view1
    from .analyzer import FaceAnalyzer

    detector = detector or DETECTORS.default
    train = read_pairs(lfw.path(root) / "pairsDevTrain.txt", root)
    test = read_pairs(lfw.path(root) / "pairsDevTest.txt", root)
    paths = sorted({str(p) for pairs in (train, test) for side in pair_paths(pairs, root)[:2] for p in side})
    analyzer = FaceAnalyzer(detector=detector, embedder=embedder, expression=None, emotion=None)
    through = pipeline_vectors(analyzer, paths)
    cropped = crop_vectors(embedder, paths)
    g_tr, i_tr = impostor_genuine(through, train, root)
    g_te, i_te = impostor_genuine(through, test, root)
    rule = fit_rule(g_tr, i_tr, far)
    strict = float(threshold_at_far(g_tr, i_tr, far / 10))
    # per-comparison rates down to a millionth, so identification keeps `far` per probe in large galleries
    table = [(f, round(float(threshold_at_far(g_tr, i_tr, f)), 6)) for f in PAIR_FARS if f * len(i_tr) >= 1]
    rule["far_table"] = table
    view1 = {name: evaluate_view1(pair_scores(v, train, root), [p.same for p in train],
                                  pair_scores(v, test, root), [p.same for p in test])
             for name, v in (("pipeline", through), ("crop", cropped))}
    return {
        "model": embedder, "version": analyzer.model_version, "default_detector": detector,
        "about": "open-set rule of the embedding through the pipeline (whole photos, detector, framing): accept a "
                 "match when cosine similarity >= threshold; confidence = logistic(slope * similarity + intercept)",
        "fitted": _now(), "retrain": "facelab train openset --replace-shipped",
        "rules": {detector: {**rule,
                             "chosen_on": f"every two photos of View 1 pairsDevTrain's {len(set(pair_paths(train, root)[0] + pair_paths(train, root)[1]))} "
                                          f"images ({len(g_tr)} genuine, {len(i_tr)} impostor comparisons)",
                             "validation": accept_rates(g_tr, i_tr, rule["threshold"]),
                             "test_pairsDevTest": accept_rates(g_te, i_te, rule["threshold"]),
                             "threshold_far_0.1%": round(strict, 6),
                             "far_table_on_pairsDevTest": [
                                 {"far_chosen": f, **accept_rates(g_te, i_te, t)} for f, t in table],
                             "test_pairsDevTest_far_0.1%": accept_rates(g_te, i_te, strict)}},
        "view1": {name: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for name, r in view1.items()},
        "photos_without_face": int(sum(v is None for v in through.values())), "photos": len(paths),
    }


CARD_START, CARD_END = "<!-- openset:start -->", "<!-- openset:end -->"


def card_block(record: dict) -> str:
    """The model card's open-set section, from the fitted record (no number typed by hand)."""
    det = record["default_detector"]
    rule, view1 = record["rules"][det], record["view1"]
    val, test, strict = rule["validation"], rule["test_pairsDevTest"], rule["test_pairsDevTest_far_0.1%"]
    return "\n".join([
        CARD_START,
        "## Open-set threshold and confidence (`facelab identify`, `facelab verify`, the gallery)",
        "",
        f"Through the pipeline (whole photos, the `{det}` detector, the calibrated framing), fitted "
        f"{record['fitted'][:10]} into `{rule_file(record['model'])}` by `{record['retrain']}`:",
        "",
        f"- **Threshold {rule['threshold']:.4f}** (cosine similarity), chosen at a false-accept rate of "
        f"{rule['far']:.1%} on {rule['chosen_on']}: TAR {val['tar']:.3f} there (the embedding trained on these people).",
        f"- **Checked on pairsDevTest's photos** (people the embedding never saw; {test['genuine']} genuine, "
        f"{test['impostor']} impostor comparisons): FAR {test['far']:.4f}, TAR {test['tar']:.3f}. At the 0.1 % "
        f"threshold ({rule['threshold_far_0.1%']:.4f}): FAR {strict['far']:.4f}, TAR {strict['tar']:.3f}.",
        f"- **Identification in a gallery** compares a probe with every enrolled embedding, so the threshold "
        f"rises with the gallery's size to keep {rule['far']:.1%} false accepts *per probe*: the rule carries "
        f"thresholds for per-comparison rates from {rule['far_table'][0][0]:g} ({rule['far_table'][0][1]:.3f}) to "
        f"{rule['far_table'][-1][0]:g} ({rule['far_table'][-1][1]:.3f}), measured on the same validation comparisons "
        f"(`OpenSetRule.for_comparisons`).",
        f"- **Confidence**: P(same | similarity) = 1 / (1 + exp(-({rule['slope']:.3f} x similarity "
        f"{rule['intercept']:+.3f}))), a logistic fit on the same validation comparisons with equal priors.",
        f"- **View 1 verification** (threshold from pairsDevTrain, accuracy on pairsDevTest): through the pipeline "
        f"{view1['pipeline']['accuracy']:.3f} (AUC {view1['pipeline']['auc']:.3f}); the `--crop` path "
        f"{view1['crop']['accuracy']:.3f} (AUC {view1['crop']['auc']:.3f}). {record['photos_without_face']} of "
        f"{record['photos']} photos had no detected face (their pairs score -1).",
        CARD_END, ""])


def update_card(record: dict, card) -> None:
    """Replace (or append) the open-set section of the embedding's model card."""
    from pathlib import Path

    from ..evaluation.results import replace_text

    text = Path(card).read_text(encoding="utf-8")
    block = card_block(record)
    if CARD_START in text and CARD_END in text:
        head, rest = text.split(CARD_START, 1)
        text = head + block + rest.split(CARD_END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    replace_text(card, text)


def write_openset(record: dict, out_dir) -> "Path":  # noqa: F821
    """The rule file in ``out_dir``, and the open-set section of the model card beside it when there is one."""
    from pathlib import Path

    from ..evaluation.results import replace_text
    from ..features import EMBEDDERS

    out = Path(out_dir) / rule_file(record["model"])
    out.parent.mkdir(parents=True, exist_ok=True)
    replace_text(out, json.dumps(record, indent=2, default=float) + "\n")
    card = Path(out_dir) / (EMBEDDERS[record["model"]].card or "")
    if card.is_file():
        update_card(record, card)
    return out
