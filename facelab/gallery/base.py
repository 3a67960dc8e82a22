"""The gallery interface every backend answers, and what is the same in all of them.

A backend stores people and their embeddings and says when its contents changed; this
class checks every input, keeps the in-memory matrix that identification searches, and
reads and writes the portable export file. So a second backend (PostgreSQL) is only
storage, and one test suite covers both.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Literal, NamedTuple, Sequence

import numpy as np

from .errors import (DuplicateEnrolmentError, EmbeddingError, GalleryError, GalleryFileError, ModelMismatchError,
                     NoRuleError)
from .rule import Decision, OpenSetRule, Verification

EnrolMode = Literal["new", "add", "any"]
ENROL_MODES = ("new", "add", "any")
EXPORT_FORMAT = "facelab-gallery"
EXPORT_VERSION = 1
VECTOR_ENCODING = "base64 of little-endian float32"
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: probes answered per matrix product: bounds the (probes x gallery) similarity block to ~100 MB at 100,000 embeddings
_PROBE_CHUNK = 256


def utc_now() -> str:
    """Timestamps are ISO 8601 UTC text: sortable, portable to PostgreSQL timestamptz through the export file."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def image_sha256(path) -> str:
    """sha256 (hex) of an image file's bytes: the source hash :meth:`Gallery.enroll` records per embedding."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class HeldModel(NamedTuple):
    """The embedding model a gallery holds: every stored embedding has this name, version and dimension."""

    model: str
    version: str
    dim: int


@dataclass(frozen=True)
class Person:
    name: str
    embeddings: int
    created: str
    updated: str


@dataclass(frozen=True)
class Enrolment:
    """What one enrolment did: ``created`` says whether ``name`` is a new person; ``total`` is their count after it."""

    name: str
    created: bool
    added: int
    total: int


@dataclass(frozen=True)
class Batch:
    """One person's embeddings to write, checked; the unit both enrol and import hand to a backend."""

    name: str
    vectors: np.ndarray  # (N, D) float32, C-contiguous, as given (not normalised)
    model: str
    version: str
    hashes: tuple[str, ...]
    mode: EnrolMode = "new"
    created: str | None = None  # person timestamps kept by import; None: now
    updated: str | None = None
    vector_created: tuple[str, ...] | None = None


class _GrowableRows:
    """Room for more rows after the last snapshot's, so enrolling into a loaded gallery appends in place.

    Copying the whole matrix per enrolment (100 MB at 100,000 x 256) would make 1,000 one-face
    enrolments take ~10 s; numpy has no appendable array, hence this amortised buffer. Only the
    snapshot whose rows end at ``length`` may append in place; any other copies first.
    """

    def __init__(self, matrix: np.ndarray, owners: np.ndarray, capacity: int):
        self.matrix = np.empty((capacity, matrix.shape[1]), np.float32)
        self.owners = np.empty(capacity, np.int64)
        self.length = len(matrix)
        self.matrix[:self.length], self.owners[:self.length] = matrix, owners


@dataclass(frozen=True)
class Snapshot:
    """The searchable gallery: unit-norm rows, the index into ``names`` of each row's person, the held model."""

    matrix: np.ndarray  # (N, D) float32
    owners: np.ndarray  # (N,) int
    names: tuple[str, ...]
    model: HeldModel | None
    _rows: _GrowableRows | None = field(default=None, repr=False, compare=False)

    @classmethod
    def build(cls, vectors: np.ndarray, owners: np.ndarray, names: Sequence[str], model: HeldModel | None):
        norms = np.linalg.norm(vectors, axis=1, keepdims=True) if len(vectors) else np.ones((0, 1), np.float32)
        return cls(np.ascontiguousarray(vectors / norms, np.float32), np.asarray(owners, np.int64), tuple(names),
                   model)

    def with_batch(self, batch: Batch) -> "Snapshot":
        """This snapshot plus one enrolled batch, without reloading from storage."""
        names = self.names if batch.name in self.names else self.names + (batch.name,)
        model = self.model or HeldModel(batch.model, batch.version, batch.vectors.shape[1])
        added = Snapshot.build(batch.vectors, np.full(len(batch.vectors), names.index(batch.name)), (), None)
        start, end = len(self.matrix), len(self.matrix) + len(added.matrix)
        rows = self._rows
        if rows is None or rows.length != start or len(rows.matrix) < end:
            rows = _GrowableRows(self.matrix.reshape(start, model.dim), self.owners, max(end, start * 5 // 4 + 1024))
        rows.matrix[start:end], rows.owners[start:end], rows.length = added.matrix, added.owners, end
        return Snapshot(rows.matrix[:end], rows.owners[:end], names, model, rows)


def check_name(name, what: str = "person name") -> str:
    if not isinstance(name, str) or not name or name != name.strip() or not name.isprintable():
        raise GalleryError(f"{what} {name!r}: must be a non-empty printable string without surrounding spaces")
    return name


def check_model(model, version) -> tuple[str, str]:
    for what, value in (("model name", model), ("model version", version)):
        if not isinstance(value, str) or not value.strip():
            raise GalleryError(f"{what} {value!r}: must be a non-empty string (the embedding's registry name and "
                               "the content hash of its weights)")
    return model, version


def as_embeddings(embeddings, what: str = "embeddings") -> np.ndarray:
    """(N, D) float32 C-contiguous; a (D,) vector is one row. Non-finite or zero vectors have no direction: refused."""
    array = np.asarray(embeddings)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise EmbeddingError(f"{what}: expected an (N, D) array with N, D > 0, got shape {np.shape(embeddings)}")
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise EmbeddingError(f"{what}: expected real numbers, got dtype {array.dtype}")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        raise EmbeddingError(f"{what}: rows {np.flatnonzero(~np.isfinite(array).all(1))[:5].tolist()} "
                             "hold NaN or infinity")
    zero = np.linalg.norm(array, axis=1) == 0
    if zero.any():
        raise EmbeddingError(f"{what}: rows {np.flatnonzero(zero)[:5].tolist()} are zero vectors (no direction)")
    return array


def check_hashes(hashes, count: int, name: str) -> tuple[str, ...]:
    if isinstance(hashes, str):
        hashes = [hashes]
    hashes = tuple(hashes)
    if len(hashes) != count:
        raise EmbeddingError(f"enrol {name!r}: {count} embeddings but {len(hashes)} image hashes (one per embedding)")
    bad = [h for h in hashes if not isinstance(h, str) or not _SHA256.fullmatch(h.lower())]
    if bad:
        raise GalleryError(f"enrol {name!r}: image hash {bad[0]!r} is not a sha256 hex digest (64 hex digits)")
    hashes = tuple(h.lower() for h in hashes)
    seen: set[str] = set()
    for h in hashes:
        if h in seen:
            raise DuplicateEnrolmentError(f"enrol {name!r}: image {h} appears twice in one enrolment")
        seen.add(h)
    return hashes


def check_compatible(held: HeldModel | None, model: str, version: str, dim: int, action: str) -> None:
    """Refuse embeddings of another model, version or dimension than the gallery holds: never compare across models."""
    if held is None:
        return
    if (model, version) != (held.model, held.version):
        raise ModelMismatchError(f"{action}: embeddings of model {model!r} version {version!r}, but the gallery holds "
                                 f"model {held.model!r} version {held.version!r}; re-embed with that model, or use "
                                 "another gallery")
    if dim != held.dim:
        raise EmbeddingError(f"{action}: embeddings of dimension {dim}, but the gallery holds {held.dim}-d embeddings "
                             f"of model {held.model!r}")


class Gallery(ABC):
    """People and their face embeddings, identified with an open-set rule.

    Identification is exact: the probe's cosine similarity to every stored embedding (one
    matrix product over an in-memory float32 matrix, reloaded only when the stored data
    changed), and a person's score is the MAXIMUM over their embeddings. The maximum, not
    the mean or a centroid, because (1) a person enrolled from several poses keeps each
    pose instead of a blurred average, and (2) it is a pair similarity, the very score the
    model card's threshold and calibration were fitted on (genuine/impostor pairs), so
    they apply unchanged; :meth:`verify` uses the same score. Caveat the card should state:
    a probe is compared with many people, so the per-probe false-accept rate of an
    unknown face grows with the gallery size.

    An empty gallery is not an error: every probe is unknown (``candidate`` and
    ``similarity`` None, ``confidence`` 1.0), because the pipeline starts with no one enrolled.
    """

    #: where this gallery lives, in the form :func:`facelab.gallery.open_gallery` reads
    location: str

    def __init__(self, rule: OpenSetRule | None = None):
        if rule is not None and not isinstance(rule, OpenSetRule):
            raise GalleryError(f"rule: expected an OpenSetRule, got {type(rule).__name__}")
        self.rule = rule
        self._snapshot: Snapshot | None = None
        self._snapshot_token = None
        self._connection = None  # the backend's open DB-API connection; None once closed

    # --- what a backend provides -------------------------------------------------------
    @abstractmethod
    def _write_batches(self, batches: Sequence[Batch]) -> list[Enrolment]:
        """Write all batches in ONE transaction (all or nothing), checking the held model and duplicates inside it."""

    @abstractmethod
    def _rename(self, old: str, new: str) -> None: ...

    @abstractmethod
    def _remove(self, name: str) -> int:
        """Delete every row of the person, then make the bytes unrecoverable; return the embeddings removed."""

    @abstractmethod
    def people(self) -> list[Person]:
        """Everyone enrolled, by name, with their embedding counts."""

    @abstractmethod
    def held_model(self) -> HeldModel | None:
        """The model of the stored embeddings; None when the gallery holds none (any model may enrol)."""

    @abstractmethod
    def _change_token(self):
        """A value that differs whenever ANOTHER connection or process changed the stored data."""

    @abstractmethod
    def _load_snapshot(self) -> Snapshot: ...

    @abstractmethod
    def _export_people(self) -> Iterable[tuple[tuple, list[tuple]]]:
        """((name, created, updated), [(vector bytes, dim, model, version, sha256, created), ...]) per person."""

    # --- the connection every backend holds ------------------------------------------------
    def _open_connection(self):
        if self._connection is None:
            raise GalleryError(f"{self.location}: the gallery is closed")
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # --- the interface -----------------------------------------------------------------
    def enroll(self, name: str, embeddings, model: str, version: str, image_hashes: Sequence[str], *,
               mode: EnrolMode = "new") -> Enrolment:
        """Store ``embeddings`` (N, D) of ``name``, one source-image sha256 per row, atomically.

        ``mode``: ``"new"`` the person must not exist yet (PersonExistsError), ``"add"`` they must
        (UnknownPersonError), ``"any"`` either; the result's ``created`` says which happened. The
        same image hash twice for one person is a DuplicateEnrolmentError; embeddings of another
        model/version than the gallery holds are a ModelMismatchError.
        """
        check_name(name)
        if mode not in ENROL_MODES:
            raise GalleryError(f"enrol {name!r}: mode {mode!r} is not one of {ENROL_MODES}")
        model, version = check_model(model, version)
        vectors = as_embeddings(embeddings, f"enrol {name!r}")
        hashes = check_hashes(image_hashes, len(vectors), name)
        batch = Batch(name, vectors, model, version, hashes, mode)
        cached, self._snapshot = self._snapshot, None  # our own commits do not move the change token
        enrolment = self._write_batches([batch])[0]
        if cached is not None:
            # add our rows instead of reloading everything; the snapshot keeps its change token, so if
            # another process also wrote meanwhile, the next snapshot() still reloads
            self._snapshot = cached.with_batch(batch)
        return enrolment

    def rename(self, old: str, new: str) -> None:
        check_name(old)
        check_name(new, "new name")
        try:
            self._rename(old, new)
        finally:
            self._snapshot = None

    def remove(self, name: str) -> int:
        """Delete ``name`` and every row holding their data, compacting storage so the bytes are gone; returns the count."""
        check_name(name)
        try:
            return self._remove(name)
        finally:
            self._snapshot = None

    def identify(self, embeddings, model: str, version: str) -> list[Decision]:
        """One :class:`Decision` per probe row of ``embeddings`` (M, D) (a (D,) vector is one probe)."""
        rule = self._rule_for(model, version)
        probes = as_embeddings(embeddings, "identify: probe")
        snapshot = self.snapshot()
        if snapshot.model is None:
            return [Decision(None, None, None, 1.0) for _ in range(len(probes))]
        check_compatible(snapshot.model, model, version, probes.shape[1], "identify")
        rule = rule.for_comparisons(len(snapshot.matrix))  # keep the false-accept rate per probe, not per comparison
        probes = probes / np.linalg.norm(probes, axis=1, keepdims=True)  # a new array: never scale the caller's
        decisions = []
        for start in range(0, len(probes), _PROBE_CHUNK):
            similarities = probes[start:start + _PROBE_CHUNK] @ snapshot.matrix.T
            # the best person is the owner of the best embedding: max over people of max over their embeddings
            best = similarities.argmax(axis=1)
            for row, column in enumerate(best):
                similarity = min(1.0, max(-1.0, float(similarities[row, column])))
                candidate = snapshot.names[snapshot.owners[column]]
                accepted, confidence = rule.decide(similarity)
                decisions.append(Decision(candidate if accepted else None, candidate, similarity, confidence))
        return decisions

    def verify(self, a, b) -> Verification:
        """Are embeddings ``a`` and ``b`` (each (D,)) the same person under the gallery's rule?"""
        rule = self._rule_for(None, None)
        a, b = as_embeddings(a, "verify: a"), as_embeddings(b, "verify: b")
        if len(a) != 1 or len(b) != 1 or a.shape != b.shape:
            raise EmbeddingError(f"verify: expected two (D,) embeddings of one dimension, got shapes "
                                 f"{a.shape} and {b.shape}")
        a64, b64 = a[0].astype(np.float64), b[0].astype(np.float64)
        similarity = float(a64 @ b64 / (np.linalg.norm(a64) * np.linalg.norm(b64)))
        similarity = min(1.0, max(-1.0, similarity))
        same, confidence = rule.decide(similarity)
        return Verification(same, similarity, confidence)

    def snapshot(self) -> Snapshot:
        """The in-memory search matrix, reloaded from storage only when the stored data changed."""
        token = self._change_token()
        if self._snapshot is None or token != self._snapshot_token:
            # token read BEFORE the load: a commit in between makes the next call reload, never serve stale data
            self._snapshot, self._snapshot_token = self._load_snapshot(), token
        return self._snapshot

    def __len__(self) -> int:
        return len(self.people())

    def __contains__(self, name) -> bool:
        return any(p.name == name for p in self.people())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"{type(self).__name__}({self.location!r})"

    def _rule_for(self, model, version) -> OpenSetRule:
        if self.rule is None:
            raise NoRuleError(f"{self.location}: no open-set rule; open the gallery with rule=OpenSetRule(threshold, "
                              "slope, intercept) from the embedding's model card")
        if model is not None:
            check_model(model, version)
            for field, value in (("model", model), ("version", version)):
                bound = getattr(self.rule, field)
                if bound is not None and bound != value:
                    raise ModelMismatchError(f"identify: the open-set rule was calibrated for {field} {bound!r}, "
                                             f"not {value!r}")
        return self.rule

    # --- the portable export file --------------------------------------------------------
    def export_to(self, path) -> dict:
        """Write every person and embedding to one JSON file that :meth:`import_from` (of any backend) reads.

        JSON with base64 float32 vectors: one self-describing file, exact to the bit, readable
        without facelab. Written to a temporary file and renamed, so a crash never leaves half a file.
        """
        path = Path(path)
        people = []
        count = 0
        for (name, created, updated), rows in self._export_people():
            people.append({"name": name, "created": created, "updated": updated, "embeddings": [
                {"vector": base64.b64encode(vector).decode("ascii"), "dim": dim, "model": model, "version": version,
                 "image_sha256": sha, "created": when} for vector, dim, model, version, sha, when in rows]})
            count += len(rows)
        document = {"format": EXPORT_FORMAT, "format_version": EXPORT_VERSION, "exported": utc_now(),
                    "source": self.location, "vector_encoding": VECTOR_ENCODING, "people": people}
        handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as f:
                json.dump(document, f, ensure_ascii=False)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return {"path": str(path), "people": len(people), "embeddings": count}

    def import_from(self, path) -> list[Enrolment]:
        """Add everyone in an export file, in one transaction (nothing is imported if anything is wrong).

        People new to this gallery keep their timestamps; people already here are added to, and a
        source image they already hold is a DuplicateEnrolmentError.
        """
        batches = read_export(path)
        try:
            return self._write_batches(batches)
        finally:
            self._snapshot = None


def read_export(path) -> list[Batch]:
    """The checked batches of an export file; any problem is a GalleryFileError naming the file."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GalleryFileError(path, f"not a readable gallery export ({error})") from None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise GalleryFileError(path, f"not a gallery export (no \"format\": \"{EXPORT_FORMAT}\")")
    if not isinstance(document.get("format_version"), int) or document["format_version"] > EXPORT_VERSION:
        raise GalleryFileError(path, f"export format version {document.get('format_version')!r}: this facelab reads "
                               f"up to {EXPORT_VERSION}; upgrade facelab")
    batches, models = [], set()
    try:
        for person in document["people"]:
            rows = person["embeddings"]
            vectors = np.stack([np.frombuffer(base64.b64decode(r["vector"], validate=True), "<f4") for r in rows])
            dims = {int(r["dim"]) for r in rows}
            if dims != {vectors.shape[1]}:
                raise ValueError(f"person {person['name']!r}: vector lengths do not match their dim {sorted(dims)}")
            models |= {(r["model"], r["version"], vectors.shape[1]) for r in rows}
            name = check_name(person["name"])
            batches.append(Batch(name, as_embeddings(vectors, f"person {name!r}"), rows[0]["model"],
                                 rows[0]["version"], check_hashes([r["image_sha256"] for r in rows], len(rows), name),
                                 "any", str(person["created"]), str(person["updated"]),
                                 tuple(str(r["created"]) for r in rows)))
    except GalleryError as error:
        raise GalleryFileError(path, str(error)) from None
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise GalleryFileError(path, f"malformed gallery export ({type(error).__name__}: {error})") from None
    if len(models) > 1:
        raise GalleryFileError(path, f"holds embeddings of several models {sorted(models)}; a gallery holds one")
    return batches
