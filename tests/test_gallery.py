"""The face gallery (facelab.gallery) and the open-set rule functions (facelab.evaluation.openset).

Random and hand-built vectors only: no embedding model, no data set. The behaviour tests take
the `gallery_factory` fixture, parametrized over the backends in GALLERY_BACKENDS, so each runs on
SQLite and on PostgreSQL; the tests of SQLite files (corrupt files, bytes gone after removal) and
of the PostgreSQL server (unreachable server, not a gallery, migration, bytes gone after VACUUM
FULL) are marked as such below.

PostgreSQL: the session fixture `postgres_server` starts a throwaway server with pgvector (the
`pgserver` package of the dev extras: PostgreSQL 16 + pgvector 0.6 in a wheel) in a temporary
folder, listening on a unix socket only, and deletes it at the end; each test's galleries are
databases of their own. Without pgserver or psycopg, or when the server will not start, the
PostgreSQL tests skip and say why.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from facelab.errors import BadInputError, FacelabError
from facelab.evaluation.openset import (accept_rates, apply_confidence, fit_confidence, tar_at_far,
                                        threshold_at_far)
from facelab.gallery import (BackendUnavailableError, DuplicateEnrolmentError, EmbeddingError, GalleryConnectionError,
                             GalleryError, GalleryFileError, ModelMismatchError, NoRuleError, OpenSetRule,
                             PersonExistsError, PostgresGallery, SQLiteGallery, UnknownPersonError, image_sha256,
                             open_gallery)
from facelab.gallery.sqlite import APPLICATION_ID, SCHEMA_VERSION

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
DIM = 256
MODEL, VERSION = "cnn", "sha256:0f1e2d"
RULE = OpenSetRule(threshold=0.6, slope=12.0, intercept=-6.0, far=0.001)
GALLERY_BACKENDS = ["sqlite", "postgresql"]


class PostgresServer:
    """The throwaway server: ``url(database)`` of a database on it, ``database(key)`` a fresh one per test gallery."""

    def __init__(self, server, folder: Path, psycopg):
        self.server, self.folder, self.psycopg = server, folder, psycopg
        self.socket_dir = server.get_postmaster_info().socket_dir

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def execute(self, sql: str, params=None, database: str = "postgres"):
        with self.psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else None

    def database(self, key: str) -> str:
        """The name of an empty database for ``key`` (created on first use)."""
        name = "g_" + hashlib.sha256(key.encode()).hexdigest()[:24]
        if not self.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)):
            self.execute(f"CREATE DATABASE {name}")
        return name

    def drop(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _one_line(error: BaseException) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())[:300]


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL 16 + pgvector server of the `pgserver` package, in a temporary folder, on a unix socket.

    As root, pgserver runs the server as its own system user `pgserver` (created with useradd on
    first use), since PostgreSQL refuses to run as root. fsync is off: the server is thrown away,
    and the tests kill client processes, never the server.
    """
    try:
        import psycopg
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is not set
            import pgserver
    except ImportError as error:
        pytest.skip(f"PostgreSQL tests need the dev extras (pip install -e '.[dev]'): {_one_line(error)}")
    folder = Path(tempfile.mkdtemp(prefix="facelab-pg-"))
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(folder, cleanup_mode="delete")
        handle = PostgresServer(server, folder, psycopg)
        handle.execute("ALTER SYSTEM SET fsync = off")
        handle.execute("SELECT pg_reload_conf()")
        handle.execute("CREATE EXTENSION IF NOT EXISTS vector")  # pgvector is there and loads
    except Exception as error:  # noqa: BLE001: whatever stops the server, the tests say it and skip
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"no PostgreSQL + pgvector server could be started here: {_one_line(error)}")
    handle.start_s = time.perf_counter() - started
    yield handle
    server.cleanup()


class GalleryFactory:
    """``make(name="gallery", rule=RULE)`` opens (creating) a gallery of this backend; ``make.backend`` names it;
    ``make.location(name)`` is its location, for child processes."""

    def __init__(self, backend: str, folder: Path, postgres: PostgresServer | None):
        self.backend, self.folder, self.postgres = backend, folder, postgres
        self.opened, self.databases = [], set()

    def location(self, name: str = "gallery") -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.folder / (name + '.db')}"
        if self.backend == "postgresql":
            database = self.postgres.database(f"{self.folder}/{name}")
            self.databases.add(database)
            return self.postgres.url(database)
        raise AssertionError(f"no test location for backend {self.backend}")

    def __call__(self, name: str = "gallery", rule: OpenSetRule | None = RULE):
        gallery = open_gallery(self.location(name), rule)
        self.opened.append(gallery)
        return gallery

    def close(self) -> None:
        for gallery in self.opened:
            gallery.close()
        for database in self.databases:
            self.postgres.drop(database)


@pytest.fixture(params=GALLERY_BACKENDS)
def gallery_factory(request, tmp_path):
    postgres = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    make = GalleryFactory(request.param, tmp_path, postgres)
    yield make
    make.close()


@pytest.fixture
def postgres_database(postgres_server, tmp_path):
    """(server, the URL of a fresh empty database), dropped after the test."""
    name = postgres_server.database(str(tmp_path))
    yield postgres_server, postgres_server.url(name)
    postgres_server.drop(name)


def unit(rng, n: int, dim: int = DIM) -> np.ndarray:
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def hashes(prefix: str, n: int) -> list[str]:
    return [hashlib.sha256(f"{prefix}/{i}".encode()).hexdigest() for i in range(n)]


def at_cosine(vector: np.ndarray, cosine: float, rng) -> np.ndarray:
    """A unit vector whose cosine similarity to the unit ``vector`` is exactly ``cosine``."""
    other = rng.standard_normal(vector.shape).astype(np.float64)
    other -= (other @ vector) * vector
    other /= np.linalg.norm(other)
    return (cosine * vector + np.sqrt(1 - cosine ** 2) * other).astype(np.float32)


def contents(gallery, folder: Path) -> dict:
    """Everything a gallery holds, through its export (timestamps included)."""
    path = folder / f"contents-{os.getpid()}-{id(gallery)}.json"
    gallery.export_to(path)
    document = json.loads(path.read_text())
    path.unlink()
    return {p["name"]: p for p in document["people"]}


def enrol_people(gallery, rng, names, per_person: int = 3) -> dict[str, np.ndarray]:
    enrolled = {}
    for name in names:
        enrolled[name] = unit(rng, per_person)
        gallery.enroll(name, enrolled[name], MODEL, VERSION, hashes(name, per_person))
    return enrolled


# --- enrolment ------------------------------------------------------------------------------
def test_enroll_new_person_then_add_says_which(gallery_factory):
    gallery = gallery_factory()
    rng = np.random.default_rng(0)
    first = gallery.enroll("Ada", unit(rng, 3), MODEL, VERSION, hashes("ada", 3))
    assert (first.name, first.created, first.added, first.total) == ("Ada", True, 3, 3)
    more = gallery.enroll("Ada", unit(rng, 2), MODEL, VERSION, hashes("ada-more", 2), mode="add")
    assert (more.created, more.added, more.total) == (False, 2, 5)
    either = gallery.enroll("Bob", unit(rng, 1), MODEL, VERSION, hashes("bob", 1), mode="any")
    assert either.created is True
    assert gallery.enroll("Bob", unit(rng, 1), MODEL, VERSION, hashes("bob2", 1), mode="any").created is False
    assert [(p.name, p.embeddings) for p in gallery.people()] == [("Ada", 5), ("Bob", 2)]
    ada = gallery.people()[0]
    assert ada.updated > ada.created
    assert len(gallery) == 2 and "Ada" in gallery and "Eve" not in gallery
    assert gallery.held_model() == (MODEL, VERSION, DIM)


def test_enroll_mode_guards_against_typos(gallery_factory):
    gallery = gallery_factory()
    rng = np.random.default_rng(1)
    gallery.enroll("Ada", unit(rng, 1), MODEL, VERSION, hashes("ada", 1))
    with pytest.raises(PersonExistsError, match="'Ada'.*already"):
        gallery.enroll("Ada", unit(rng, 1), MODEL, VERSION, hashes("x", 1))  # mode="new" is the default
    with pytest.raises(UnknownPersonError, match="'Adda'"):
        gallery.enroll("Adda", unit(rng, 1), MODEL, VERSION, hashes("y", 1), mode="add")
    with pytest.raises(GalleryError, match="mode"):
        gallery.enroll("Ada", unit(rng, 1), MODEL, VERSION, hashes("z", 1), mode="append")
    assert [(p.name, p.embeddings) for p in gallery.people()] == [("Ada", 1)]


def test_duplicate_image_for_the_same_person_is_refused_and_nothing_lands(gallery_factory):
    gallery = gallery_factory()
    rng = np.random.default_rng(2)
    gallery.enroll("Ada", unit(rng, 2), MODEL, VERSION, hashes("ada", 2))
    fresh_and_duplicate = [hashes("new", 1)[0], hashes("ada", 2)[1].upper()]  # hex case does not hide a duplicate
    with pytest.raises(DuplicateEnrolmentError, match=hashes("ada", 2)[1]):
        gallery.enroll("Ada", unit(rng, 2), MODEL, VERSION, fresh_and_duplicate, mode="add")
    assert gallery.people()[0].embeddings == 2  # the fresh one did not land either
    with pytest.raises(DuplicateEnrolmentError, match="twice"):
        gallery.enroll("Bob", unit(rng, 2), MODEL, VERSION, hashes("bob", 1) * 2)
    assert "Bob" not in gallery
    # one group photo may hold two people: the same image hash for another person is fine
    gallery.enroll("Cy", unit(rng, 1), MODEL, VERSION, hashes("ada", 1))
    assert [p.embeddings for p in gallery.people()] == [2, 1]


@pytest.mark.parametrize("embeddings, image_hashes, error, message", [
    (np.zeros((1, DIM)), hashes("a", 1), EmbeddingError, "zero vector"),
    (np.full((1, DIM), np.nan), hashes("a", 1), EmbeddingError, "NaN"),
    (np.ones((2, DIM)), hashes("a", 1), EmbeddingError, "2 embeddings but 1 image hashes"),
    (np.ones((0, DIM)), [], EmbeddingError, "shape"),
    (np.ones((1, 2, DIM)), hashes("a", 1), EmbeddingError, "shape"),
    (np.ones((1, DIM)), ["not-a-hash"], GalleryError, "sha256"),
])
def test_bad_enrolment_inputs_are_clear_errors(gallery_factory, embeddings, image_hashes, error, message):
    gallery = gallery_factory()
    with pytest.raises(error, match=message):
        gallery.enroll("Ada", embeddings, MODEL, VERSION, image_hashes)
    assert gallery.people() == []


@pytest.mark.parametrize("name", ["", " Ada", "Ada\n", None])
def test_bad_names_are_refused(gallery_factory, name):
    with pytest.raises(GalleryError, match="name"):
        gallery_factory().enroll(name, np.ones((1, DIM)), MODEL, VERSION, hashes("a", 1))


def test_enrolment_of_another_model_version_is_refused(gallery_factory):
    gallery = gallery_factory()
    rng = np.random.default_rng(3)
    gallery.enroll("Ada", unit(rng, 2), MODEL, VERSION, hashes("ada", 2))
    with pytest.raises(ModelMismatchError, match="'sha256:other'.*holds model 'cnn' version 'sha256:0f1e2d'"):
        gallery.enroll("Bob", unit(rng, 2), MODEL, "sha256:other", hashes("bob", 2))
    with pytest.raises(ModelMismatchError, match="'autoencoder'"):
        gallery.enroll("Bob", unit(rng, 2), "autoencoder", VERSION, hashes("bob", 2))
    with pytest.raises(EmbeddingError, match="dimension 128"):
        gallery.enroll("Bob", unit(rng, 2, 128), MODEL, VERSION, hashes("bob", 2))
    assert [p.name for p in gallery.people()] == ["Ada"]


def test_enrolment_stores_float32_as_given(gallery_factory, tmp_path):
    gallery = gallery_factory()
    vectors = np.random.default_rng(4).standard_normal((2, DIM))  # float64, not unit
    gallery.enroll("Ada", vectors, MODEL, VERSION, hashes("ada", 2))
    stored = contents(gallery, tmp_path)["Ada"]["embeddings"]
    import base64
    assert base64.b64decode(stored[0]["vector"]) == vectors[0].astype("<f4").tobytes()
    assert [row["image_sha256"] for row in stored] == hashes("ada", 2)
    assert {(row["model"], row["version"], row["dim"]) for row in stored} == {(MODEL, VERSION, DIM)}


# --- identification ---------------------------------------------------------------------------
def test_identify_names_enrolled_people_and_calls_strangers_unknown(gallery_factory):
    gallery = gallery_factory()
    rng = np.random.default_rng(5)
    enrolled = enrol_people(gallery, rng, [f"person{i:02d}" for i in range(20)])
    probes = np.stack([at_cosine(enrolled["person07"][2], 0.9, rng), at_cosine(enrolled["person13"][0], 0.8, rng),
                       unit(rng, 1)[0]])
    decisions = gallery.identify(probes, MODEL, VERSION)
    assert [d.name for d in decisions[:2]] == ["person07", "person13"]
    assert decisions[0].similarity == pytest.approx(0.9, abs=1e-5)
    assert decisions[0].confidence == pytest.approx(RULE.same_probability(0.9))
    stranger = decisions[2]
    assert stranger.unknown and stranger.name is None and stranger.candidate.startswith("person")
    assert stranger.similarity < RULE.threshold
    assert stranger.confidence == pytest.approx(1 - RULE.same_probability(stranger.similarity))
    assert json.loads(json.dumps(stranger.to_dict()))["unknown"] is True
    one = gallery.identify(probes[0], MODEL, VERSION)  # a (D,) vector is one probe
    assert len(one) == 1 and one[0].name == "person07"


def test_identify_threshold_is_the_rule(gallery_factory):
    gallery = gallery_factory()
    rng = np.random.default_rng(6)
    enrolled = enrol_people(gallery, rng, ["Ada"], per_person=1)
    above, below = at_cosine(enrolled["Ada"][0], 0.61, rng), at_cosine(enrolled["Ada"][0], 0.59, rng)
    assert [d.name for d in gallery.identify(np.stack([above, below]), MODEL, VERSION)] == ["Ada", None]
    strict = gallery_factory("strict", rule=OpenSetRule(0.7, 12.0, -6.0))
    strict.enroll("Ada", enrolled["Ada"], MODEL, VERSION, hashes("Ada", 1))
    assert strict.identify(above, MODEL, VERSION)[0].name is None


def test_a_person_scores_their_best_embedding_not_their_mean(gallery_factory):
    """Ada enrolled frontal and profile: a profile probe is Ada, although Ada's mean is nearer Bob."""
    gallery = gallery_factory()
    rng = np.random.default_rng(7)
    frontal, profile, bob = unit(rng, 3)
    gallery.enroll("Ada", np.stack([frontal, profile]), MODEL, VERSION, hashes("ada", 2))
    gallery.enroll("Bob", bob[None], MODEL, VERSION, hashes("bob", 1))
    probe = 0.8 * profile + 0.7 * bob
    probe /= np.linalg.norm(probe)
    mean_ada = (frontal + profile) / np.linalg.norm(frontal + profile)
    assert probe @ bob > probe @ mean_ada  # a centroid gallery would answer Bob
    decision = gallery.identify(probe, MODEL, VERSION)[0]
    assert decision.candidate == "Ada"
    assert decision.similarity == pytest.approx(float(probe @ profile), abs=1e-5)


def test_identify_refuses_another_model_or_dimension(gallery_factory):
    gallery = gallery_factory()
    rng = np.random.default_rng(8)
    enrol_people(gallery, rng, ["Ada"])
    with pytest.raises(ModelMismatchError, match="version 'sha256:other'"):
        gallery.identify(unit(rng, 1), MODEL, "sha256:other")
    with pytest.raises(EmbeddingError, match="dimension 128.*256-d"):
        gallery.identify(unit(rng, 1, 128), MODEL, VERSION)
    bound = gallery_factory("bound", rule=OpenSetRule(0.6, 12.0, -6.0, model=MODEL, version="sha256:card"))
    with pytest.raises(ModelMismatchError, match="calibrated for version 'sha256:card'"):
        bound.identify(unit(rng, 1), MODEL, VERSION)


def test_empty_gallery_answers_unknown(gallery_factory):
    decisions = gallery_factory().identify(unit(np.random.default_rng(9), 2), MODEL, VERSION)
    assert [(d.name, d.candidate, d.similarity, d.confidence) for d in decisions] == [(None, None, None, 1.0)] * 2


def test_identify_and_verify_need_a_rule(gallery_factory):
    gallery = gallery_factory(rule=None)
    with pytest.raises(NoRuleError, match="OpenSetRule"):
        gallery.identify(np.ones(DIM), MODEL, VERSION)
    with pytest.raises(NoRuleError):
        gallery.verify(np.ones(DIM), np.ones(DIM))


def test_identify_leaves_the_probes_alone(gallery_factory):
    gallery = gallery_factory()
    rng = np.random.default_rng(10)
    enrol_people(gallery, rng, ["Ada"])
    probes = rng.standard_normal((2, DIM)).astype(np.float32) * 3
    before = probes.copy()
    gallery.identify(probes, MODEL, VERSION)
    np.testing.assert_array_equal(probes, before)


def test_verify_uses_the_same_rule(gallery_factory):
    gallery = gallery_factory()
    rng = np.random.default_rng(11)
    a = unit(rng, 1)[0]
    same = gallery.verify(a, at_cosine(a, 0.75, rng) * 5)  # scale does not matter: cosine
    assert same.same and same.similarity == pytest.approx(0.75, abs=1e-6)
    assert same.confidence == pytest.approx(RULE.same_probability(0.75))
    different = gallery.verify(a, at_cosine(a, 0.2, rng))
    assert not different.same and different.confidence == pytest.approx(1 - RULE.same_probability(0.2))
    with pytest.raises(EmbeddingError, match="verify"):
        gallery.verify(a, a[:128])
    with pytest.raises(EmbeddingError, match="verify"):
        gallery.verify(np.stack([a, a]), np.stack([a, a]))


def test_another_connection_sees_changes(gallery_factory):
    """The in-memory matrix is reloaded when the stored data changed, in this or another connection."""
    reader, writer = gallery_factory("shared"), gallery_factory("shared")
    rng = np.random.default_rng(12)
    enrolled = enrol_people(writer, rng, ["Ada"])
    probe = enrolled["Ada"][0]
    assert reader.identify(probe, MODEL, VERSION)[0].name == "Ada"
    matrix = reader.snapshot()
    assert reader.snapshot() is matrix  # nothing changed: not reloaded
    writer.rename("Ada", "Ada Lovelace")
    assert reader.identify(probe, MODEL, VERSION)[0].name == "Ada Lovelace"
    writer.remove("Ada Lovelace")
    assert reader.identify(probe, MODEL, VERSION)[0].candidate is None
    reader.enroll("Bob", enrolled["Ada"], MODEL, VERSION, hashes("bob", 3))  # the reader's own write
    assert reader.identify(probe, MODEL, VERSION)[0].name == "Bob"
    cy, dan = unit(rng, 1), unit(rng, 1)
    writer.enroll("Cy", cy, MODEL, VERSION, hashes("cy", 1))  # another write, then one of ours before any query:
    reader.enroll("Dan", dan, MODEL, VERSION, hashes("dan", 1))  # ours must not hide theirs
    assert [d.name for d in reader.identify(np.concatenate([cy, dan]), MODEL, VERSION)] == ["Cy", "Dan"]


def test_own_enrolment_extends_the_loaded_matrix_like_a_reload(gallery_factory, monkeypatch):
    gallery = gallery_factory("g")
    rng = np.random.default_rng(24)
    enrol_people(gallery, rng, ["Ada", "Bob"])
    gallery.snapshot()
    monkeypatch.setattr(gallery, "_load_snapshot", lambda: pytest.fail("reloaded after our own enrolment"))
    gallery.enroll("Cy", unit(rng, 2), MODEL, VERSION, hashes("cy", 2))
    gallery.enroll("Ada", unit(rng, 1), MODEL, VERSION, hashes("ada-more", 1), mode="add")
    extended = gallery.snapshot()
    reloaded = gallery_factory("g").snapshot()

    def rows(snapshot):
        return sorted((snapshot.names[owner], row.tobytes()) for owner, row in zip(snapshot.owners, snapshot.matrix))

    assert len(extended.matrix) == 9 and rows(extended) == rows(reloaded)
    assert extended.model == reloaded.model


def test_appended_snapshots_never_change_under_their_holders():
    from facelab.gallery.base import Batch, Snapshot

    rng = np.random.default_rng(25)

    def batch(name):
        return Batch(name, unit(rng, 2, 8), MODEL, VERSION, tuple(hashes(name, 2)))

    base = Snapshot.build(unit(rng, 3, 8), np.zeros(3), ("Ada",), None)
    first = base.with_batch(batch("Bob"))
    second = first.with_batch(batch("Cy"))  # appended in place, after first's rows
    second_rows = second.matrix.copy()
    branch = first.with_batch(batch("Dan"))  # first is no longer the tip: must copy, not overwrite Cy
    np.testing.assert_array_equal(second.matrix, second_rows)
    assert [second.names[i] for i in second.owners] == ["Ada"] * 3 + ["Bob"] * 2 + ["Cy"] * 2
    assert [branch.names[i] for i in branch.owners] == ["Ada"] * 3 + ["Bob"] * 2 + ["Dan"] * 2
    assert len(first.matrix) == 5 and first.names == ("Ada", "Bob")


# --- rename, remove ---------------------------------------------------------------------------
def test_rename(gallery_factory):
    gallery = gallery_factory()
    rng = np.random.default_rng(13)
    enrolled = enrol_people(gallery, rng, ["Ada", "Bob"])
    gallery.rename("Ada", "Ada Lovelace")
    assert [p.name for p in gallery.people()] == ["Ada Lovelace", "Bob"]
    assert gallery.identify(enrolled["Ada"][1], MODEL, VERSION)[0].name == "Ada Lovelace"
    with pytest.raises(UnknownPersonError, match="no person 'Ada'"):
        gallery.rename("Ada", "Augusta")
    with pytest.raises(PersonExistsError, match="'Bob' is already"):
        gallery.rename("Ada Lovelace", "Bob")
    assert [(p.name, p.embeddings) for p in gallery.people()] == [("Ada Lovelace", 3), ("Bob", 3)]


def test_remove(gallery_factory):
    gallery = gallery_factory()
    rng = np.random.default_rng(14)
    enrolled = enrol_people(gallery, rng, ["Ada", "Bob"])
    assert gallery.remove("Ada") == 3
    assert [p.name for p in gallery.people()] == ["Bob"]
    assert gallery.identify(enrolled["Ada"][0], MODEL, VERSION)[0].candidate == "Bob"
    with pytest.raises(UnknownPersonError, match="remove 'Ada'"):
        gallery.remove("Ada")
    gallery.enroll("Ada", enrolled["Ada"], MODEL, VERSION, hashes("Ada", 3))  # the same images may come back
    assert gallery.identify(enrolled["Ada"][0], MODEL, VERSION)[0].name == "Ada"


def test_a_gallery_emptied_takes_another_model(gallery_factory):
    gallery = gallery_factory()
    rng = np.random.default_rng(15)
    enrol_people(gallery, rng, ["Ada"])
    gallery.remove("Ada")
    assert gallery.held_model() is None
    gallery.enroll("Ada", unit(rng, 1, 128), "autoencoder", "v2", hashes("ada", 1))
    assert gallery.held_model() == ("autoencoder", "v2", 128)


# --- export, import -------------------------------------------------------------------------
def test_export_then_import_is_exact(gallery_factory, tmp_path):
    source = gallery_factory("source")
    rng = np.random.default_rng(16)
    enrol_people(source, rng, ["Ada", "Bob", "Émile"])
    exported = source.export_to(tmp_path / "gallery.json")
    assert exported["people"] == 3 and exported["embeddings"] == 9
    target = gallery_factory("target")
    results = target.import_from(tmp_path / "gallery.json")
    assert [(r.name, r.created, r.total) for r in results] == [("Ada", True, 3), ("Bob", True, 3), ("Émile", True, 3)]
    assert contents(target, tmp_path) == contents(source, tmp_path)  # vectors to the bit, hashes, timestamps
    probes = unit(rng, 4)
    assert target.identify(probes, MODEL, VERSION) == source.identify(probes, MODEL, VERSION)


def test_import_is_all_or_nothing(gallery_factory, tmp_path):
    source = gallery_factory("source")
    rng = np.random.default_rng(17)
    enrolled = enrol_people(source, rng, ["Ada", "Bob"])
    source.export_to(tmp_path / "gallery.json")
    target = gallery_factory("target")
    target.enroll("Bob", enrolled["Bob"][:1], MODEL, VERSION, hashes("Bob", 1))  # Bob's first image already here
    before = contents(target, tmp_path)
    with pytest.raises(DuplicateEnrolmentError, match="'Bob'"):
        target.import_from(tmp_path / "gallery.json")
    assert contents(target, tmp_path) == before  # Ada (imported first) rolled back too
    other = gallery_factory("other")
    other.enroll("Cy", unit(rng, 1), MODEL, "sha256:other", hashes("cy", 1))
    with pytest.raises(ModelMismatchError):
        other.import_from(tmp_path / "gallery.json")
    assert [p.name for p in other.people()] == ["Cy"]


@pytest.mark.parametrize("text, message", [
    ("not json", "not a readable gallery export"),
    ('{"format": "something else"}', "not a gallery export"),
    ('{"format": "facelab-gallery", "format_version": 99, "people": []}', "format version 99"),
    ('{"format": "facelab-gallery", "format_version": 1, "people": [{"name": "Ada"}]}', "malformed"),
    ('{"format": "facelab-gallery", "format_version": 1, "people": [{"name": "Ada", "created": "t", "updated": "t",'
     ' "embeddings": [{"vector": "AAAAAA==", "dim": 2, "model": "cnn", "version": "v", "image_sha256": "' + "a" * 64
     + '", "created": "t"}]}]}', "dim"),
])
def test_bad_export_files_are_clear_errors(gallery_factory, tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    gallery = gallery_factory()
    with pytest.raises(GalleryFileError, match=message) as raised:
        gallery.import_from(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)
    assert gallery.people() == []


# --- processes: interrupted and concurrent writes ----------------------------------------------
_INTERRUPTED_ENROLMENT = textwrap.dedent("""
    import importlib, sys, time, hashlib
    import numpy as np
    from facelab.gallery import open_gallery

    location, rows, backend = sys.argv[1], int(sys.argv[2]), importlib.import_module(sys.argv[3])
    write_rows = backend._embedding_rows

    def stall_halfway(person_id, batch, now):  # half the rows are written inside the transaction, then we wait
        for index, row in enumerate(write_rows(person_id, batch, now)):
            if index == rows // 2:
                print("mid-write", flush=True)
                time.sleep(120)
            yield row

    backend._embedding_rows = stall_halfway
    vectors = np.random.default_rng(0).standard_normal((rows, 256)).astype(np.float32)
    image_hashes = [hashlib.sha256(b"killed%d" % i).hexdigest() for i in range(rows)]
    open_gallery(location).enroll("Killed", vectors, "cnn", "sha256:0f1e2d", image_hashes, mode="any")
""")


def _copy_in_progress(postgres: PostgresServer, database: str) -> int:
    """Rows the server has taken so far from a COPY into ``database`` that is still running (0: none seen)."""
    rows = postgres.execute("SELECT tuples_processed FROM pg_stat_progress_copy WHERE datname = %s "
                            "AND relid = 'embeddings'::regclass", (database,), database=database)
    return rows[0][0] if rows else 0


def test_enrolment_killed_mid_write_leaves_the_gallery_as_it_was(gallery_factory, tmp_path):
    """SQLite: half of 20,000 rows sit uncommitted in the WAL file; PostgreSQL: the server has taken half of them
    inside the transaction (which also dropped the HNSW index to rebuild it after the rows), when the enrolling
    process is killed. Either way the gallery is as it was, index included, and takes writes again."""
    gallery = gallery_factory()
    rng = np.random.default_rng(18)
    enrol_people(gallery, rng, ["Ada", "Bob"])
    before = contents(gallery, tmp_path)
    wal = Path(f"{gallery.path}-wal") if gallery_factory.backend == "sqlite" else None
    wal_before = wal.stat().st_size if wal and wal.exists() else 0
    module = type(gallery).__module__
    child = subprocess.Popen([sys.executable, "-c", _INTERRUPTED_ENROLMENT, gallery.location, "20000", module],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.strip() == "mid-write", child.stderr.read() if child.poll() is not None else line
        if wal:  # 10,000 rows of 1 KiB overflow the page cache: they are in the WAL file, uncommitted
            assert wal.stat().st_size > wal_before + 5_000_000
        if gallery_factory.backend == "postgresql":  # the rows written before the stall reached the server
            database = gallery.location.split("/")[3].split("?")[0]
            deadline = time.monotonic() + 30
            while _copy_in_progress(gallery_factory.postgres, database) < 9_000 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _copy_in_progress(gallery_factory.postgres, database) >= 9_000
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    gallery.close()
    reopened = gallery_factory()  # the same location: a fresh open, with its checks
    assert contents(reopened, tmp_path) == before
    assert [p.name for p in reopened.people()] == ["Ada", "Bob"]
    reopened.enroll("Cy", unit(rng, 1), MODEL, VERSION, hashes("cy", 1))  # and it takes writes again
    assert len(reopened) == 3
    if gallery_factory.backend == "postgresql":  # the dropped index came back with the rollback
        assert gallery_factory.postgres.execute("SELECT indexdef FROM pg_indexes WHERE indexname = "
                                                "'embeddings_vector_hnsw'", database=database)[0][0].endswith(
            "USING hnsw (vector vector_cosine_ops)")


_CONCURRENT_ENROLMENT = textwrap.dedent("""
    import sys, hashlib
    import numpy as np
    from facelab.gallery import open_gallery

    location, prefix = sys.argv[1], sys.argv[2]
    print("ready", flush=True)
    sys.stdin.readline()  # both processes start together (and may race to create the file)
    gallery = open_gallery(location)
    rng = np.random.default_rng(len(prefix))
    for i in range(40):
        name = f"{prefix}{i:02d}"
        image_hashes = [hashlib.sha256(f"{name}/{j}".encode()).hexdigest() for j in range(5)]
        gallery.enroll(name, rng.standard_normal((5, 256)), "cnn", "sha256:0f1e2d", image_hashes)
    gallery.close()
""")


def test_sqlite_open_waits_for_a_writer_before_switching_to_wal(tmp_path):
    """Switching a file to WAL while another connection holds the write lock fails at once in SQLite (no busy wait):
    the open retries within its busy timeout instead (the race of two processes creating one gallery, seen in CI)."""
    import threading

    path = tmp_path / "g.db"
    SQLiteGallery(path).close()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    assert other.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    SQLiteGallery(path, busy_timeout_s=10).close()
    other.close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize("created_by", ["parent", "children"])
def test_two_processes_enrolling_at_once_both_land(gallery_factory, tmp_path, created_by):
    """Both processes' enrolments land, also when they race to create the gallery file itself."""
    location = gallery_factory.location("gallery")
    gallery = gallery_factory() if created_by == "parent" else None
    children = [subprocess.Popen([sys.executable, "-c", _CONCURRENT_ENROLMENT, location, prefix], cwd=ROOT,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for prefix in ("left", "right")]
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr
    people = (gallery or gallery_factory()).people()
    assert len(people) == 80 and {p.embeddings for p in people} == {5}
    assert {p.name for p in people} == {f"{side}{i:02d}" for side in ("left", "right") for i in range(40)}


# --- location --------------------------------------------------------------------------------
def test_open_gallery_locations(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open_gallery("relative.db") as by_path, open_gallery(tmp_path / "path.db") as by_pathlib, \
            open_gallery("sqlite:///url.db") as relative_url, open_gallery(f"sqlite:///{tmp_path}/abs.db") as url:
        assert all(isinstance(g, SQLiteGallery) for g in (by_path, by_pathlib, relative_url, url))
        assert relative_url.path == tmp_path / "url.db" and url.path == tmp_path / "abs.db"
        with open_gallery(url.location) as again:  # location round-trips
            assert again.path == url.path
    with pytest.raises(BackendUnavailableError, match="unknown backend"):
        open_gallery("mongodb://db/faces")
    with pytest.raises(BackendUnavailableError, match="three slashes"):
        open_gallery("sqlite://faces.db")
    assert issubclass(BackendUnavailableError, FacelabError)


def test_image_sha256(tmp_path):
    path = tmp_path / "face.png"
    path.write_bytes(b"\x89PNG not really")
    assert image_sha256(path) == hashlib.sha256(b"\x89PNG not really").hexdigest()


# --- the PostgreSQL server -------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "postgresql://face:s3cret@127.0.0.1:1/faces",  # a loopback port where no server listens
    "postgres://face@127.0.0.1:1/faces?password=s3cret&sslmode=disable",
    "postgresql+psycopg://face:s3cret@/faces?host=/nonexistent/socket/dir",
], ids=["refused-port", "password-in-query", "no-socket"])
def test_an_unreachable_server_is_one_line_without_the_password(url):
    with pytest.raises(GalleryConnectionError, match="cannot connect to the PostgreSQL server") as raised:
        open_gallery(url)
    message = str(raised.value)
    assert "s3cret" not in message and "\n" not in message and message.startswith("postgresql://face@")
    assert isinstance(raised.value, GalleryError) and isinstance(raised.value, FacelabError)


def test_the_cli_prints_an_unreachable_server_as_one_line(capsys):
    from facelab.cli import main

    assert main(["gallery", "list", "--db", "postgresql://face:s3cret@127.0.0.1:1/faces"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "cannot connect" in err and "s3cret" not in err
    assert "Traceback" not in err


def test_postgres_location_drops_the_password(postgres_database):
    server, url = postgres_database
    with_password = url.replace("postgres@", "postgres:s3cret@")  # trust login: the password is not checked
    with open_gallery(with_password) as gallery, open_gallery(gallery.location) as again:  # round-trips
        assert isinstance(gallery, PostgresGallery) and gallery.location == url and "s3cret" not in repr(gallery)
        assert again.location == url


def test_a_missing_database_is_one_line(postgres_server):
    with pytest.raises(GalleryConnectionError, match='database "no_such_gallery" does not exist') as raised:
        open_gallery(postgres_server.url("no_such_gallery"))
    assert "\n" not in str(raised.value)


def test_postgres_schema(postgres_server, tmp_path):
    """Tables, the vector(dim) column, the HNSW index; pgvector enabled by the gallery in a database without it."""
    database = postgres_server.database(str(tmp_path))
    postgres_server.drop(database)
    postgres_server.execute(f"CREATE DATABASE {database} TEMPLATE template0")
    try:
        assert not postgres_server.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'", database=database)
        with open_gallery(postgres_server.url(database)) as gallery:
            gallery.enroll("Ada", np.ones((1, DIM)), MODEL, VERSION, hashes("ada", 1))

        def query(sql):
            return postgres_server.execute(sql, database=database)

        assert query("SELECT application, schema_version, generation FROM facelab_gallery") == [
            ("facelab-gallery", 1, 1)]
        columns = {table: [name for (name,) in query(f"SELECT column_name FROM information_schema.columns WHERE "
                                                     f"table_name = '{table}' ORDER BY ordinal_position")]
                   for table in ("people", "embeddings")}
        assert columns == {"people": ["id", "name", "created", "updated"],
                           "embeddings": ["id", "person_id", "vector", "dim", "model_name", "model_version",
                                          "image_sha256", "created"]}
        assert query("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                     "'embeddings'::regclass AND attname = 'vector'") == [(f"vector({DIM})",)]
        assert query("SELECT indexdef FROM pg_indexes WHERE indexname = 'embeddings_vector_hnsw'")[0][0].endswith(
            "USING hnsw (vector vector_cosine_ops)")
        assert query("SELECT extversion >= '0.5' FROM pg_extension WHERE extname = 'vector'") == [(True,)]
    finally:
        postgres_server.drop(database)


def _other_application(server, url):
    server.execute("CREATE TABLE people (id serial, note text)", database=url.split("/")[3].split("?")[0])


def _newer_gallery(server, url):
    PostgresGallery(url).close()
    server.execute("UPDATE facelab_gallery SET schema_version = 2", database=url.split("/")[3].split("?")[0])


@pytest.mark.parametrize("damage, message", [
    (_other_application, "a PostgreSQL database but not a facelab gallery .*people"),
    (_newer_gallery, "schema version 2 is newer"),
], ids=["other-application", "newer-schema"])
def test_a_database_that_is_not_a_gallery_is_one_line_and_left_untouched(postgres_database, damage, message):
    server, url = postgres_database
    database = url.split("/")[3].split("?")[0]
    damage(server, url)

    def tables():
        return server.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
                              database=database)

    before = tables()
    with pytest.raises(GalleryFileError, match=message) as raised:
        open_gallery(url)
    assert str(raised.value).startswith(url) and "\n" not in str(raised.value)
    assert isinstance(raised.value, BadInputError)
    assert tables() == before


def test_migration_from_sqlite_to_postgres_and_back(tmp_path, postgres_database):
    """SQLite -> export file -> PostgreSQL: the same people, vectors to the bit, timestamps, and decisions."""
    _, url = postgres_database
    rng = np.random.default_rng(27)
    with SQLiteGallery(tmp_path / "old.db", RULE) as old:
        enrolled = enrol_people(old, rng, [f"person{i:03d}" for i in range(60)] + ["Émile"], per_person=4)
        old.export_to(tmp_path / "gallery.json")
        with open_gallery(url, RULE) as new:
            results = new.import_from(tmp_path / "gallery.json")
            assert len(results) == 61 and all(r.created and r.total == 4 for r in results)
            assert contents(new, tmp_path) == contents(old, tmp_path)
            assert new.people() == old.people() and new.held_model() == old.held_model()
            probes = np.concatenate([np.stack([at_cosine(enrolled[f"person{i:03d}"][i % 4], 0.7, rng)
                                               for i in range(0, 60, 3)]), unit(rng, 20)])
            assert new.identify(probes, MODEL, VERSION) == old.identify(probes, MODEL, VERSION)
            new.export_to(tmp_path / "back.json")
    with SQLiteGallery(tmp_path / "back.db", RULE) as back:  # and back again
        back.import_from(tmp_path / "back.json")
        with SQLiteGallery(tmp_path / "old.db") as old:
            assert contents(back, tmp_path) == contents(old, tmp_path)


def test_exact_search_is_the_sqlite_decisions_and_hnsw_finds_the_same(tmp_path, postgres_database):
    _, url = postgres_database
    rng = np.random.default_rng(28)
    with SQLiteGallery(tmp_path / "g.db", RULE) as lite, open_gallery(url, RULE) as pg:
        for i in range(150):
            vectors, image_hashes = unit(rng, 4), hashes(f"p{i}", 4)
            lite.enroll(f"p{i:03d}", vectors, MODEL, VERSION, image_hashes)
            pg.enroll(f"p{i:03d}", vectors, MODEL, VERSION, image_hashes)
        matrix, owners, names = lite.snapshot().matrix, lite.snapshot().owners, lite.snapshot().names
        targets = rng.choice(len(matrix), 50, replace=False)
        probes = np.concatenate([np.stack([at_cosine(matrix[t], 0.75, rng) for t in targets]), unit(rng, 50)])
        exact = pg.identify(probes, MODEL, VERSION)
        assert exact == lite.identify(probes, MODEL, VERSION)
        assert [d.name for d in exact[:50]] == [names[owners[t]] for t in targets]
        assert all(d.unknown for d in exact[50:])
        approximate = pg.search_hnsw(probes[:50], 3, MODEL, VERSION)
        assert [a[0].name for a in approximate] == [d.candidate for d in exact[:50]]
        assert [a[0].similarity for a in approximate] == pytest.approx([d.similarity for d in exact[:50]], abs=1e-5)
        assert all(len(a) == 3 and a[0].similarity >= a[1].similarity >= a[2].similarity for a in approximate)
        with pytest.raises(ModelMismatchError):
            pg.search_hnsw(probes[0], 1, MODEL, "sha256:other")
        with pytest.raises(EmbeddingError, match="dimension 128"):
            pg.search_hnsw(unit(rng, 1, 128), 1)
        with pytest.raises(GalleryError, match="k=0"):
            pg.search_hnsw(probes[0], 0)


def test_search_hnsw_on_an_empty_gallery(postgres_database):
    with open_gallery(postgres_database[1]) as gallery:
        assert gallery.search_hnsw(unit(np.random.default_rng(29), 2), 5) == [[], []]


def test_a_large_enrolment_rebuilds_the_index_in_its_transaction(postgres_database, monkeypatch):
    """REBUILD_INDEX_AT rows and more (and more than held): the HNSW index is dropped and built after the rows."""
    import facelab.gallery.postgres as backend

    monkeypatch.setattr(backend, "REBUILD_INDEX_AT", 2_000)
    server, url = postgres_database
    rng = np.random.default_rng(30)
    many = unit(rng, 3_000)
    builds = []
    build = backend.PostgresGallery._build_index
    monkeypatch.setattr(backend.PostgresGallery, "_build_index", lambda self, cursor: (builds.append(1),
                                                                                       build(self, cursor)))
    with open_gallery(url, RULE) as gallery:
        gallery.enroll("Ada", unit(rng, 2), MODEL, VERSION, hashes("ada", 2))
        assert len(builds) == 1  # the first embeddings typed the column and built the (empty) index
        gallery.enroll("Crowd", many, MODEL, VERSION, hashes("crowd", len(many)))
        assert len(builds) == 2
        database = url.split("/")[3].split("?")[0]
        assert server.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'embeddings_vector_hnsw'",
                              database=database) == [(1,)]
        found = gallery.search_hnsw(many[[5, 500, 2_999]], 1, ef_search=100)
        assert [(f[0].name, round(f[0].similarity, 5)) for f in found] == [("Crowd", 1.0)] * 3


def test_postgres_removal_leaves_no_trace_in_the_table_and_index_files(postgres_database):
    """VACUUM FULL rewrites people, embeddings and their indexes (the HNSW graph too) without the removed rows.

    The write-ahead log still holds them until the server recycles its segments: that is not checked here.
    """
    server, url = postgres_database
    database = url.split("/")[3].split("?")[0]
    rng = np.random.default_rng(31)
    gallery = open_gallery(url)
    enrolled = enrol_people(gallery, rng, ["Zanzibar Quux", "Bob"], per_person=4)
    traces = [vector.astype("<f4").tobytes()[:64] for vector in enrolled["Zanzibar Quux"]]
    traces += [h.encode() for h in hashes("Zanzibar Quux", 4)] + [b"Zanzibar Quux"]
    oid = server.execute("SELECT oid FROM pg_database WHERE datname = %s", (database,))[0][0]

    def files_bytes():
        server.execute("CHECKPOINT")  # shared buffers written to the files
        return b"".join(p.read_bytes() for p in (server.folder / "base" / str(oid)).iterdir() if p.is_file())

    assert all(trace in files_bytes() for trace in traces)  # the search finds them while enrolled
    gallery.remove("Zanzibar Quux")
    assert [trace for trace in traces if trace in files_bytes()] == []
    assert enrolled["Bob"][0].astype("<f4").tobytes()[:64] in files_bytes()  # Bob is still there
    assert [p.name for p in gallery.people()] == ["Bob"]
    gallery.close()


# --- the SQLite file --------------------------------------------------------------------------
def test_sqlite_schema(tmp_path):
    with SQLiteGallery(tmp_path / "g.db") as gallery:
        gallery.enroll("Ada", np.ones((1, DIM)), MODEL, VERSION, hashes("ada", 1))
        connection = sqlite3.connect(gallery.path)
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = {table: [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
                   for table in ("people", "embeddings")}
        connection.close()
    assert columns == {"people": ["id", "name", "created", "updated"],
                       "embeddings": ["id", "person_id", "vector", "dim", "model_name", "model_version",
                                      "image_sha256", "created"]}


def _newer_schema(path: Path) -> None:
    SQLiteGallery(path).close()
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()


def _damaged_gallery(damage):
    def write(path: Path) -> None:
        with SQLiteGallery(path) as gallery:
            enrol_people(gallery, np.random.default_rng(19), [f"p{i}" for i in range(40)], per_person=5)
        path.write_bytes(damage(path.read_bytes()))
    return write


def _other_database(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (text TEXT)")
    connection.commit()
    connection.close()


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(np.random.default_rng(0).bytes(40_000)), "not a SQLite database"),
    (_damaged_gallery(lambda data: data[:60]), "truncated"),
    (_damaged_gallery(lambda data: data[:len(data) // 2]), "corrupt"),
    (_damaged_gallery(lambda data: data[:4096] + b"\xff" * (len(data) - 4096)), "corrupt"),
    (_newer_schema, "schema version 2 is newer"),
    (_other_database, "not a facelab gallery"),
], ids=["random-bytes", "truncated-header", "truncated-half", "overwritten-pages", "newer-schema", "other-database"])
def test_a_bad_file_is_a_clear_error_and_left_untouched(tmp_path, damage, message):
    path = tmp_path / "gallery.db"
    damage(path)
    before = path.read_bytes()
    with pytest.raises(GalleryFileError, match=message) as raised:
        SQLiteGallery(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)
    assert isinstance(raised.value, BadInputError)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gallery.db"]  # no -wal/-shm left behind


def test_removal_leaves_no_trace_in_the_files(tmp_path):
    path = tmp_path / "g.db"
    rng = np.random.default_rng(20)
    gallery = SQLiteGallery(path)
    enrolled = enrol_people(gallery, rng, ["Zanzibar Quux", "Bob"], per_person=4)
    traces = [vector.astype("<f4").tobytes()[:64] for vector in enrolled["Zanzibar Quux"]]
    traces += [h.encode() for h in hashes("Zanzibar Quux", 4)] + [b"Zanzibar Quux"]

    def files_bytes():
        return b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("g.db"))

    assert all(trace in files_bytes() for trace in traces)  # the search finds them while enrolled
    gallery.remove("Zanzibar Quux")
    found = [trace for trace in traces if trace in files_bytes()]
    assert found == []
    assert enrolled["Bob"][0].astype("<f4").tobytes()[:64] in files_bytes()  # Bob is still there
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    gallery.close()


def test_removed_rows_are_zeroed_even_before_the_file_is_compacted(tmp_path, monkeypatch):
    """secure_delete: should the process die between the delete and VACUUM, the freed cells hold zeros."""
    path = tmp_path / "g.db"
    rng = np.random.default_rng(26)
    with SQLiteGallery(path) as gallery:
        enrolled = enrol_people(gallery, rng, ["Ada", "Bob"], per_person=4)
    traces = [vector.astype("<f4").tobytes()[:64] for vector in enrolled["Ada"]]
    assert all(trace in path.read_bytes() for trace in traces)  # closing checkpointed the WAL into the file
    with SQLiteGallery(path) as gallery:
        monkeypatch.setattr(gallery, "_compact", lambda action: None)
        gallery.remove("Ada")
    assert [trace for trace in traces if trace in path.read_bytes()] == []


# --- the open-set rule -------------------------------------------------------------------------
def test_open_set_rule():
    rule = OpenSetRule(threshold=0.5, slope=10.0, intercept=-5.0, far=1e-3, model=MODEL, version=VERSION)
    assert rule.same_probability(0.5) == pytest.approx(0.5)
    assert rule.decide(0.7) == (True, pytest.approx(1 / (1 + np.exp(-2.0))))
    assert rule.decide(0.3) == (False, pytest.approx(1 - 1 / (1 + np.exp(2.0))))
    assert rule.same_probability(-1e6) == 0.0 and rule.same_probability(1e6) == 1.0  # no overflow
    assert OpenSetRule.from_dict(json.loads(json.dumps(rule.to_dict()))) == rule
    for bad in (dict(threshold=1.5, slope=1.0, intercept=0.0), dict(threshold=0.5, slope=-1.0, intercept=0.0),
                dict(threshold=float("nan"), slope=1.0, intercept=0.0)):
        with pytest.raises(GalleryError):
            OpenSetRule(**bad)
    with pytest.raises(GalleryError, match="unknown keys"):
        OpenSetRule.from_dict({"threshold": 0.5, "slope": 1.0, "intercept": 0.0, "thresh": 1})


# --- facelab.evaluation.openset ---------------------------------------------------------------
def test_threshold_at_far_is_the_lowest_within_the_rate():
    impostor = np.arange(100) / 100.0  # 0.00 .. 0.99
    genuine = np.array([0.5, 0.93, 0.97, 1.0])
    threshold = threshold_at_far(genuine, impostor, 0.05)
    assert threshold == pytest.approx(0.95)  # 0.95..0.99: five impostors accepted, 5 %; 0.94 would be 6 %
    rates = accept_rates(genuine, impostor, threshold)
    assert rates == {"threshold": threshold, "tar": 0.5, "far": 0.05, "genuine": 4, "impostor": 100}
    assert tar_at_far(genuine, impostor, 0.05) == 0.5
    assert threshold_at_far(genuine, impostor, 0.01) == pytest.approx(0.99)
    assert threshold_at_far(genuine, impostor, 1.0) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="1 / 100 impostor"):
        threshold_at_far(genuine, impostor, 0.001)
    with pytest.raises(ValueError, match="genuine and impostor"):
        threshold_at_far([], impostor, 0.1)


def test_threshold_at_far_on_random_scores_holds_on_those_scores():
    rng = np.random.default_rng(21)
    genuine, impostor = rng.normal(0.7, 0.1, 2000), rng.normal(0.1, 0.15, 20000)
    for far in (1e-3, 1e-2, 1e-1):
        threshold = threshold_at_far(genuine, impostor, far)
        assert np.mean(impostor >= threshold) <= far
        next_impostor = impostor[impostor < threshold].max()  # lowering the threshold to it breaks the rate
        assert np.mean(impostor >= next_impostor) > far
        assert not np.any((genuine >= next_impostor) & (genuine < threshold))  # and nothing else lies between


def test_threshold_when_the_top_scores_are_tied_impostors():
    threshold = threshold_at_far([0.2], [0.9] * 5 + [0.1] * 95, 0.01)
    assert threshold > 0.9 and accept_rates([0.2], [0.9] * 5 + [0.1] * 95, threshold)["far"] == 0.0


def test_fit_confidence_recovers_a_logistic_and_is_json():
    rng = np.random.default_rng(22)
    scores = rng.uniform(-1, 1, 40000)
    same = rng.uniform(size=scores.size) < 1 / (1 + np.exp(-(8.0 * scores - 2.0)))
    calibration = fit_confidence(scores[same], scores[~same])
    assert json.loads(json.dumps(calibration)) == calibration and set(calibration) == {"slope", "intercept"}
    assert calibration["slope"] == pytest.approx(8.0, rel=0.1)
    assert calibration["intercept"] == pytest.approx(-2.0, rel=0.1)
    probabilities = apply_confidence(calibration, [-1.0, 0.25, 1.0])
    np.testing.assert_allclose(probabilities, 1 / (1 + np.exp(-(calibration["slope"] * np.array([-1, 0.25, 1])
                                                                + calibration["intercept"]))))
    rule = OpenSetRule(threshold=0.3, **calibration)  # the fit plugs straight into the gallery's rule
    assert rule.same_probability(0.25) == pytest.approx(probabilities[1])


def test_fit_confidence_balanced_removes_the_class_ratio():
    rng = np.random.default_rng(23)
    genuine, impostor = rng.normal(0.6, 0.15, 500), rng.normal(0.0, 0.15, 5000)
    skewed, balanced = fit_confidence(genuine, impostor), fit_confidence(genuine, impostor, balanced=True)
    midpoint = 0.3  # equal densities: P(same) = 1/2 with equal priors, ~1/11 with 500:5000
    assert apply_confidence(balanced, [midpoint])[0] == pytest.approx(0.5, abs=0.1)
    assert apply_confidence(skewed, [midpoint])[0] == pytest.approx(1 / 11, abs=0.05)
