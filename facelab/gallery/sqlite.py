"""The default gallery backend: one embedded SQLite file (stdlib sqlite3), safe for several processes.

WAL mode lets readers run while one process writes, and ``busy_timeout`` makes a second
writer wait for the first instead of failing, so two processes enrolling at once both
land. Every write is one ``BEGIN IMMEDIATE`` transaction: a process killed mid-write
leaves the file as it was before that transaction.
"""
from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import numpy as np

from .base import Batch, Enrolment, Gallery, HeldModel, Person, Snapshot, check_compatible, utc_now
from .errors import (DuplicateEnrolmentError, GalleryError, GalleryFileError, PersonExistsError,
                     UnknownPersonError)
from .rule import OpenSetRule

#: PRAGMA application_id of a facelab gallery ("FLGa"): tells a gallery from any other SQLite file
APPLICATION_ID = 0x464C4761
#: PRAGMA user_version: bump it (and migrate in _open) whenever the tables change
SCHEMA_VERSION = 1
_HEADER = b"SQLite format 3\x00"

SCHEMA = """
CREATE TABLE people (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,               -- ISO 8601 UTC
    updated TEXT NOT NULL
);
CREATE TABLE embeddings (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    vector        BLOB NOT NULL,         -- little-endian float32, as enrolled (not normalised)
    dim           INTEGER NOT NULL CHECK (dim > 0 AND length(vector) = 4 * dim),
    model_name    TEXT NOT NULL,
    model_version TEXT NOT NULL,         -- content hash of the embedding's weights
    image_sha256  TEXT NOT NULL CHECK (length(image_sha256) = 64),
    created       TEXT NOT NULL,
    UNIQUE (person_id, image_sha256)     -- one embedding per source image and person
);
"""


def _embedding_rows(person_id: int, batch: Batch, now: str):
    """The rows of a batch, one at a time, for executemany (also where tests interrupt an enrolment)."""
    created = batch.vector_created or (now,) * len(batch.vectors)
    dim = batch.vectors.shape[1]
    vectors = batch.vectors.astype("<f4", copy=False)
    for vector, sha, when in zip(vectors, batch.hashes, created):
        yield person_id, vector.tobytes(), dim, batch.model, batch.version, sha, when


class SQLiteGallery(Gallery):
    """A gallery in the SQLite file ``path`` (created with the schema when missing or empty).

    An existing file is first checked read-only (SQLite header, facelab application id, schema
    version, ``PRAGMA quick_check``): a corrupt file, another program's database or a newer
    schema is a GalleryFileError naming the file, and the file is left untouched.
    """

    def __init__(self, path, rule: OpenSetRule | None = None, *, busy_timeout_s: float = 30.0):
        super().__init__(rule)
        self.path = Path(path).expanduser().resolve()
        self.location = f"sqlite:///{self.path}"
        self._busy_ms = int(busy_timeout_s * 1000)
        if self.path.is_dir():
            raise GalleryFileError(self.path, "is a folder, not a gallery file")
        exists = self.path.exists() and self.path.stat().st_size > 0  # SQLite itself treats an empty file as new
        if exists:
            self._check_file()
        self._connection = self._connect("rw" if exists else "rwc")
        if not exists:
            self._create()
        self._set_wal()

    def _set_wal(self) -> None:
        """WAL mode (persistent: set once per file). Switching needs the file to itself and SQLite returns "database
        is locked" at once when another process holds it, without waiting on busy_timeout (seen when two processes
        create one gallery together): so retry here, within the same busy timeout."""
        deadline = time.monotonic() + self._busy_ms / 1000
        while True:
            try:
                if self._connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self._connection.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise GalleryFileError(self.path, f"cannot switch to WAL mode ({error})") from None
                time.sleep(0.05)

    # --- opening -----------------------------------------------------------------------
    def _connect(self, mode: str) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(f"{self.path.as_uri()}?mode={mode}", uri=True, isolation_level=None,
                                         timeout=self._busy_ms / 1000)
            connection.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
            if mode != "ro":
                connection.execute("PRAGMA secure_delete = ON")  # deleted rows are zeroed, not just unlinked
                connection.execute("PRAGMA foreign_keys = ON")
                # FULL: every commit is on disk before enroll returns (NORMAL would only keep the file consistent)
                connection.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as error:
            raise GalleryFileError(self.path, f"cannot open as SQLite ({error})") from None
        return connection

    def _check_file(self) -> None:
        """Refuse what is not a healthy gallery of a schema this facelab reads, through a read-only connection."""
        with open(self.path, "rb") as f:
            header = f.read(100)
        if not header.startswith(_HEADER):
            raise GalleryFileError(self.path, "not a SQLite database (bad header): corrupt, or not a gallery file")
        if len(header) < 100:
            raise GalleryFileError(self.path, f"truncated SQLite file ({len(header)} bytes)")
        side_files = [Path(f"{self.path}{suffix}") for suffix in ("-wal", "-shm")]
        side_files = [f for f in side_files if not f.exists()]  # a read-only open of a WAL file may create these
        connection = self._connect("ro")
        healthy = False
        try:
            application_id = connection.execute("PRAGMA application_id").fetchone()[0]
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if application_id != APPLICATION_ID:
                raise GalleryFileError(self.path, f"a SQLite database but not a facelab gallery (application_id "
                                                  f"{application_id:#x})")
            if version > SCHEMA_VERSION:
                raise GalleryFileError(self.path, f"gallery schema version {version} is newer than this facelab "
                                                  f"reads ({SCHEMA_VERSION}); upgrade facelab")
            problems = [line for (row,) in connection.execute("PRAGMA quick_check(5)") for line in row.splitlines()]
            if problems != ["ok"]:
                raise GalleryFileError(self.path, f"corrupt gallery database: {'; '.join(problems[:5])}")
            healthy = True
        except sqlite3.DatabaseError as error:
            raise GalleryFileError(self.path, f"corrupt gallery database ({error})") from None
        finally:
            connection.close()
            if not healthy:  # leave a refused file exactly as we found it, without side files of ours
                for side_file in side_files:
                    side_file.unlink(missing_ok=True)

    def _create(self) -> None:
        """Write the schema, unless a process that raced us to the new file already did (then check it like any file)."""
        with self._transaction() as connection:
            if connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
                return
            if connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise GalleryFileError(self.path, "a SQLite database but not a facelab gallery")
            # statement by statement: executescript() would COMMIT our transaction first
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self):
        """BEGIN IMMEDIATE: take the write lock up front (waiting busy_timeout), so checks and writes see one state."""
        connection = self._open_connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    # --- writes --------------------------------------------------------------------------
    def _write_batches(self, batches: Sequence[Batch]) -> list[Enrolment]:
        now = utc_now()
        results = []
        with self._transaction() as connection:
            held = self._held_model(connection)
            for batch in batches:
                check_compatible(held, batch.model, batch.version, batch.vectors.shape[1], f"enrol {batch.name!r}")
                held = held or HeldModel(batch.model, batch.version, batch.vectors.shape[1])
                results.append(self._write_batch(connection, batch, now))
        return results

    def _write_batch(self, connection, batch: Batch, now: str) -> Enrolment:
        row = connection.execute("SELECT id FROM people WHERE name = ?", (batch.name,)).fetchone()
        if row is None:
            if batch.mode == "add":
                raise UnknownPersonError(f"enrol {batch.name!r}: no such person in {self.location} (mode='add'); "
                                         "use mode='new' to create them")
            person_id = connection.execute("INSERT INTO people (name, created, updated) VALUES (?, ?, ?)",
                                           (batch.name, batch.created or now, batch.updated or now)).lastrowid
        else:
            if batch.mode == "new":
                raise PersonExistsError(f"enrol {batch.name!r}: already in {self.location} (mode='new'); use "
                                        "mode='add' to add embeddings to them")
            person_id = row[0]
            held = {sha for (sha,) in connection.execute("SELECT image_sha256 FROM embeddings WHERE person_id = ?",
                                                         (person_id,))}
            duplicates = sorted(held.intersection(batch.hashes))
            if duplicates:
                raise DuplicateEnrolmentError(f"enrol {batch.name!r}: image {duplicates[0]} is already enrolled for "
                                              f"them ({len(duplicates)} duplicate(s)); nothing was enrolled")
            connection.execute("UPDATE people SET updated = ? WHERE id = ?", (now, person_id))
        connection.executemany("INSERT INTO embeddings (person_id, vector, dim, model_name, model_version, "
                               "image_sha256, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               _embedding_rows(person_id, batch, now))
        total = connection.execute("SELECT count(*) FROM embeddings WHERE person_id = ?", (person_id,)).fetchone()[0]
        return Enrolment(batch.name, row is None, len(batch.vectors), total)

    def _person_id(self, connection, name: str, action: str) -> int:
        row = connection.execute("SELECT id FROM people WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UnknownPersonError(f"{action}: no person {name!r} in {self.location}")
        return row[0]

    def _rename(self, old: str, new: str) -> None:
        with self._transaction() as connection:
            person_id = self._person_id(connection, old, f"rename {old!r}")
            if old != new and connection.execute("SELECT 1 FROM people WHERE name = ?", (new,)).fetchone():
                raise PersonExistsError(f"rename {old!r}: {new!r} is already in {self.location}")
            connection.execute("UPDATE people SET name = ?, updated = ? WHERE id = ?", (new, utc_now(), person_id))

    def _remove(self, name: str) -> int:
        with self._transaction() as connection:
            person_id = self._person_id(connection, name, f"remove {name!r}")
            removed = connection.execute("DELETE FROM embeddings WHERE person_id = ?", (person_id,)).rowcount
            connection.execute("DELETE FROM people WHERE id = ?", (person_id,))
        self._compact(f"remove {name!r}")
        return removed

    def _compact(self, action: str) -> None:
        """Make deleted bytes unrecoverable from the files.

        secure_delete zeroes the freed cells, but the pages that held them before the delete still
        sit in the WAL, and free pages in the file: VACUUM rebuilds the file without them and a
        TRUNCATE checkpoint copies the WAL into the file and cuts the WAL to zero bytes. The
        checkpoint waits (busy_timeout) for other connections' reads to finish.
        """
        connection = self._open_connection()
        connection.execute("VACUUM")
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise GalleryError(f"{action}: deleted, but another process kept reading {self.path} so its old pages "
                               "stay in the -wal file until the next removal or until every process closes it")

    # --- reads ---------------------------------------------------------------------------
    @staticmethod
    def _held_model(connection) -> HeldModel | None:
        row = connection.execute("SELECT model_name, model_version, dim FROM embeddings LIMIT 1").fetchone()
        return HeldModel(*row) if row else None

    def held_model(self) -> HeldModel | None:
        return self._held_model(self._open_connection())

    def people(self) -> list[Person]:
        rows = self._open_connection().execute(
            "SELECT p.name, count(e.id), p.created, p.updated FROM people p LEFT JOIN embeddings e "
            "ON e.person_id = p.id GROUP BY p.id ORDER BY p.name").fetchall()
        return [Person(*row) for row in rows]

    def _change_token(self):
        # data_version moves when another connection commits; our own commits reset the cache in Gallery
        return self._open_connection().execute("PRAGMA data_version").fetchone()[0]

    def _load_snapshot(self) -> Snapshot:
        connection = self._open_connection()
        connection.execute("BEGIN")  # one read snapshot for the three queries
        try:
            names = dict(connection.execute("SELECT id, name FROM people"))
            models = connection.execute("SELECT DISTINCT model_name, model_version, dim FROM embeddings").fetchall()
            if len(models) > 1:
                raise GalleryFileError(self.path, f"holds embeddings of several models {models}; a gallery holds one")
            rows = connection.execute("SELECT person_id, vector FROM embeddings ORDER BY id").fetchall()
        finally:
            connection.execute("COMMIT")
        if not rows:
            return Snapshot.build(np.zeros((0, 0), np.float32), np.zeros(0, np.int64), (), None)
        held = HeldModel(*models[0])
        order = {person_id: index for index, person_id in enumerate(names)}
        owners = np.fromiter((order[person_id] for person_id, _ in rows), np.int64, len(rows))
        vectors = np.frombuffer(b"".join(vector for _, vector in rows), "<f4").reshape(len(rows), held.dim)
        return Snapshot.build(vectors, owners, tuple(names.values()), held)

    def _export_people(self):
        connection = self._open_connection()
        connection.execute("BEGIN")
        try:
            people = connection.execute("SELECT id, name, created, updated FROM people ORDER BY name").fetchall()
            for person_id, name, created, updated in people:
                rows = connection.execute("SELECT vector, dim, model_name, model_version, image_sha256, created FROM "
                                          "embeddings WHERE person_id = ? ORDER BY id", (person_id,)).fetchall()
                yield (name, created, updated), rows
        finally:
            connection.execute("COMMIT")
