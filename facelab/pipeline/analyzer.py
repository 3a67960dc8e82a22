"""One pipeline from a photo to its faces with identity, expression and affect: :class:`FaceAnalyzer` and
:func:`facelab.analyze`.

Every model is chosen by name from its registry and loaded once per analyzer; each face is cut once per model
input (:func:`facelab.pipeline.faces.model_crop`: the detector's calibrated framing of the model's crop), and the
crops of all faces of all images go through each model in one batch. Images come from any frame source (file
paths, arrays, or an iterable of either: a video reader yields frames the same way), and the gallery is any
:class:`facelab.gallery.Gallery` backend."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import BadInputError, FacelabError
from ..config import WEIGHTS_DIR
from ..models.weights import file_version
from ..preprocess import read_image

#: what an analyzer does per face unless told otherwise
TASKS = ("identity", "expression", "emotion")


@dataclass
class FaceResult:
    number: int
    box: tuple[float, float, float, float]
    score: float
    landmarks: list | None = None
    identity: dict | str | None = None          # {"name", "similarity", "confidence"} or "unknown"; None: no gallery
    candidate: dict | None = None               # the best gallery match even when rejected
    expression: str | None = None
    expression_scores: dict | None = None
    valence: str | None = None
    arousal: str | None = None
    affect_scores: dict | None = None
    embedding: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self, with_embedding: bool = False) -> dict:
        out = {"face": self.number, "box": [round(float(v), 2) for v in self.box], "score": round(float(self.score), 5)}
        if self.landmarks is not None:
            out["landmarks"] = self.landmarks
        for key in ("identity", "candidate", "expression", "expression_scores", "valence", "arousal", "affect_scores"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if with_embedding and self.embedding is not None:
            out["embedding"] = [round(float(v), 6) for v in self.embedding]
        return out


@dataclass
class ImageResult:
    image: str
    width: int = 0
    height: int = 0
    faces: list[FaceResult] = field(default_factory=list)
    error: str | None = None

    def to_dict(self, with_embedding: bool = False) -> dict:
        if self.error:
            return {"image": self.image, "error": self.error}
        return {"image": self.image, "width": self.width, "height": self.height,
                "faces": [f.to_dict(with_embedding) for f in self.faces]}


def _scores(p, labels) -> dict:
    return {lab: round(float(v), 5) for lab, v in zip(labels, p)}


class FaceAnalyzer:
    """Detect, then identify (with a gallery), label the expression and the affect of every face.

    ``detector``, ``embedder``, ``expression``, ``emotion``: registry names (``None`` skips that model);
    ``gallery``: a :class:`facelab.gallery.Gallery` (or a path / URL for :func:`facelab.gallery.open_gallery`),
    whose open-set rule defaults to the embedding's shipped one. ``timings`` holds the seconds each stage took.
    """

    def __init__(self, detector: str | None = None, embedder: str | None = "cnn", expression: str | None = "cnn",
                 emotion: str | None = "cnn", gallery=None, min_score: float | None = None, rule=None,
                 min_face: float | None = None):
        from ..detection import DETECTORS, get_detector

        self.detector = get_detector(detector or DETECTORS.default, min_score=min_score)
        # min_face: faces narrower than this many pixels are not reported; a detector that can skip them while
        # searching (the CNN's pyramid) does: the video pipeline's speed knob
        self.min_face = min_face
        if min_face is not None and hasattr(self.detector, "search_min_face"):
            self.detector.search_min_face(min_face)
        self.embedder_name, self.expression_name, self.emotion_name = embedder, expression, emotion
        self._embedder = self._expression = self._emotion = None
        self.rule = rule
        self.gallery = self._open_gallery(gallery) if gallery is not None else None
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------ models, loaded once
    @property
    def embedder(self):
        if self._embedder is None and self.embedder_name:
            from ..features import EMBEDDERS

            self._embedder = EMBEDDERS.create(self.embedder_name, crop="none")
        return self._embedder

    @property
    def embedder_entry(self):
        from ..features import EMBEDDERS

        return EMBEDDERS[self.embedder_name]

    @property
    def model_version(self) -> str:
        """The embedding's version a gallery records: a content hash of its weights file."""
        entry = self.embedder_entry
        if not entry.weights:
            return "builtin"
        return file_version(WEIGHTS_DIR / entry.weights[0])

    def open_set_rule(self):
        """The embedding's shipped open-set rule (threshold and calibrated confidence from its model card)."""
        if self.rule is None:
            from .openset import shipped_rule

            self.rule = shipped_rule(self.embedder_name, self.detector.name, self.model_version)
        return self.rule

    def _open_gallery(self, gallery):
        from ..gallery import Gallery, open_gallery

        if isinstance(gallery, Gallery):
            return gallery
        return open_gallery(gallery, rule=self.open_set_rule())

    def _affect_model(self, which: str):
        from ..affect import EMOTION_MODELS, EXPRESSION_MODELS

        reg = EXPRESSION_MODELS if which == "expression" else EMOTION_MODELS
        name = self.expression_name if which == "expression" else self.emotion_name
        if reg[name].extra.get("sequence"):
            raise FacelabError(f"{which} model {name!r} works on sequences: the photo pipeline takes frame models "
                               f"({', '.join(n for n, e in reg.items() if not e.extra.get('sequence'))})")
        attr = f"_{which}"
        if getattr(self, attr) is None:
            setattr(self, attr, reg.create(name))
        return getattr(self, attr), reg[name].inputs

    # ------------------------------------------------------------ the pipeline
    def _timed(self, stage: str, t0: float) -> None:
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - t0

    def _read(self, source) -> tuple[str, np.ndarray]:
        if isinstance(source, np.ndarray):
            return "<array>", source
        return str(source), read_image(Path(source), "bgr")

    def detect(self, images: Iterable) -> list[tuple[ImageResult, np.ndarray | None, list]]:
        """(result shell, image, detections) per input; a bad input gets its error and no image."""
        out = []
        for source in images:
            t0 = time.perf_counter()
            try:
                name, image = self._read(source)
            except BadInputError as exc:
                out.append((ImageResult(str(source), error=str(exc)), None, []))
                continue
            self._timed("read", t0)
            t0 = time.perf_counter()
            dets = self.detector.detect(image)
            if self.min_face is not None:
                dets = [d for d in dets if d.box[2] >= self.min_face]
            self._timed("detect", t0)
            out.append((ImageResult(name, int(image.shape[1]), int(image.shape[0])), image, dets))
        return out

    def _crops(self, detected, spec) -> np.ndarray:
        from .faces import model_crop

        crops = [model_crop(image, d.box, spec, self.detector.name) for _, image, dets in detected for d in dets]
        return np.stack(crops) if crops else np.zeros((0, spec.size, spec.size), np.uint8)

    def embed(self, detected) -> np.ndarray:
        """Embeddings of every detected face, in order (one batch)."""
        t0 = time.perf_counter()
        crops = self._crops(detected, self.embedder_entry.inputs)
        self._timed("crop", t0)
        t0 = time.perf_counter()
        vecs = self.embedder.transform(crops) if len(crops) else np.zeros((0, 1), np.float32)
        self._timed("embed", t0)
        return vecs

    def analyze(self, images: Iterable, tasks: Iterable[str] = TASKS) -> list[ImageResult]:
        """Per input image its faces with every result asked for in ``tasks`` (``identity`` needs the gallery
        for names; without one each face still gets its embedding)."""
        from ..affect.mapping import AROUSAL_LABELS, VALENCE_LABELS
        from ..data import FER_LABELS

        tasks = set(tasks)
        detected = self.detect(images)
        faces = []
        for result, image, dets in detected:
            result.faces = [FaceResult(k, tuple(float(v) for v in d.box), float(d.score),
                                       None if d.landmarks is None else np.round(np.asarray(d.landmarks, float), 2).tolist())
                            for k, d in enumerate(dets, 1)]
            faces.extend(result.faces)
        if faces and "identity" in tasks and self.embedder_name:
            vecs = self.embed(detected)
            for f, v in zip(faces, vecs):
                f.embedding = v
            if self.gallery is not None:
                t0 = time.perf_counter()
                for f, d in zip(faces, self.gallery.identify(vecs, self.embedder_name, self.model_version)):
                    f.identity = ({"name": d.name, "similarity": round(float(d.similarity), 5),
                                   "confidence": round(float(d.confidence), 5)} if d.name else "unknown")
                    if d.name is None and d.candidate is not None:  # who came closest, and how sure the refusal is
                        f.candidate = {"name": d.candidate, "similarity": round(float(d.similarity), 5),
                                       "confidence_unknown": round(float(d.confidence), 5)}
                self._timed("identify", t0)
        if faces and "expression" in tasks and self.expression_name:
            model, spec = self._affect_model("expression")
            crops = self._crops(detected, spec)
            t0 = time.perf_counter()
            proba = model.predict_proba(crops)
            self._timed("expression", t0)
            for f, p in zip(faces, proba):
                f.expression, f.expression_scores = FER_LABELS[int(p.argmax())], _scores(p, FER_LABELS)
        if faces and "emotion" in tasks and self.emotion_name:
            model, spec = self._affect_model("emotion")
            crops = self._crops(detected, spec)
            t0 = time.perf_counter()
            pv, pa = model.predict_affect(crops)
            self._timed("emotion", t0)
            for f, v, a in zip(faces, pv, pa):
                f.valence, f.arousal = VALENCE_LABELS[int(v.argmax())], AROUSAL_LABELS[int(a.argmax())]
                f.affect_scores = {"valence": _scores(v, VALENCE_LABELS), "arousal": _scores(a, AROUSAL_LABELS)}
        return [result for result, _, _ in detected]


_DEFAULT: dict = {}


def analyze(image, gallery=None, **options) -> ImageResult:
    """One call: the faces of one photo (a path or a uint8 BGR/grey array) with identity (against ``gallery``),
    expression and affect. The analyzer is built once per set of options and reused."""
    key = (repr(gallery), tuple(sorted(options.items())))
    if key not in _DEFAULT:
        _DEFAULT[key] = FaceAnalyzer(gallery=gallery, **options)
    return _DEFAULT[key].analyze([image])[0]
