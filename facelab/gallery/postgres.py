"""The PostgreSQL gallery backend: a database with pgvector, for galleries shared by many processes and hosts.

``postgresql://user@host:port/database`` (also ``postgres://`` and ``postgresql+psycopg://``; a unix
socket is ``postgresql://user@/database?host=/run/postgresql``). One gallery is one database (more
exactly: the first schema of its search_path); facelab creates its three tables there when the
schema holds no table yet, and refuses a schema that holds tables but no facelab gallery.

Guarantees, the same as the SQLite backend's:

* every write (an enrolment, a rename, a removal, a whole import) is ONE transaction that first
  locks the gallery's row in ``facelab_gallery`` (``SELECT ... FOR UPDATE``): writers take turns,
  each sees what the one before it committed, so two processes enrolling at once both land, and a
  process killed mid-write (its connection drops) leaves the database as it was;
* embeddings of another model or version than the gallery holds are refused inside that transaction;
* exact identification is the base class's: every stored embedding in one in-memory matrix, reloaded
  when ``facelab_gallery.generation`` (bumped by every write) moved, so its decisions are the SQLite
  backend's on the same data. :meth:`PostgresGallery.search_hnsw` answers through the pgvector
  HNSW index (``vector_cosine_ops``) instead: approximate, for galleries too large to hold in memory.

Removal deletes the person's rows, then runs ``VACUUM FULL`` on ``people`` and ``embeddings``, which
writes both tables and all their indexes (the HNSW graph holds a copy of every vector) to new files
and deletes the old ones: the removed bytes are then gone from the database's table and index files.
PostgreSQL's write-ahead log still holds them until the server recycles those WAL segments (after
its next checkpoints), and so do WAL archives, base backups and replicas: their retention is the
database administrator's. ``vacuum="plain"`` runs a plain ``VACUUM`` instead, which is quick on a
large gallery but only marks the space free: bytes of removed rows can stay in the files until
overwritten.

The client is psycopg 3 (``pip install "psycopg[binary]"``); vectors travel in pgvector's binary
format (exact float32, both ways), bulk rows through binary COPY.
"""
from __future__ import annotations

import re
import struct
from contextlib import contextmanager
from typing import NamedTuple, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from .base import (Batch, Enrolment, Gallery, HeldModel, Person, Snapshot, as_embeddings, check_compatible,
                   check_model, utc_now)
from .errors import (BackendUnavailableError, DuplicateEnrolmentError, EmbeddingError, GalleryError,
                     GalleryFileError, PersonExistsError, UnknownPersonError)
from .rule import OpenSetRule

#: facelab_gallery.application of a facelab gallery
APPLICATION = "facelab-gallery"
#: facelab_gallery.schema_version: bump it (and migrate in _open) whenever the tables change
SCHEMA_VERSION = 1
#: pgvector 0.5.0 brought HNSW
MIN_PGVECTOR = (0, 5, 0)
#: pgvector indexes vectors of up to 2,000 dimensions; larger ones are stored and searched exactly only
HNSW_MAX_DIM = 2000
HNSW_INDEX = "embeddings_vector_hnsw"
#: a write adding at least this many rows, and more than the gallery holds, drops the HNSW index and builds it
#: anew after the rows (in the same transaction): pgvector builds an index far faster than it inserts row by row
REBUILD_INDEX_AT = 10_000
#: pg_advisory_xact_lock key ("FLGa", as the SQLite application_id): serialises processes creating the tables
_CREATE_LOCK = 0x464C4761

SCHEMA = """
CREATE TABLE facelab_gallery (
    id             integer PRIMARY KEY CHECK (id = 1),  -- one row: the gallery itself, locked by every write
    application    text NOT NULL,                       -- 'facelab-gallery'
    schema_version integer NOT NULL,
    generation     bigint NOT NULL,                     -- bumped by every write: readers reload their matrix
    created        text NOT NULL
);
CREATE TABLE people (
    id      bigserial PRIMARY KEY,
    name    text NOT NULL UNIQUE,
    created text NOT NULL,                              -- ISO 8601 UTC, as in the export file
    updated text NOT NULL
);
CREATE TABLE embeddings (
    id            bigserial PRIMARY KEY,
    person_id     bigint NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    vector        vector NOT NULL,                      -- float32 as enrolled, vector(dim) once the first lands
    dim           integer NOT NULL CHECK (dim > 0 AND vector_dims(vector) = dim),
    model_name    text NOT NULL,
    model_version text NOT NULL,                        -- content hash of the embedding's weights
    image_sha256  text NOT NULL CHECK (length(image_sha256) = 64),
    created       text NOT NULL,
    UNIQUE (person_id, image_sha256)                    -- one embedding per source image and person
)
"""


class GalleryConnectionError(GalleryError, ConnectionError):
    """The PostgreSQL server cannot be reached, refused the login, or dropped the connection (one line, no password)."""


class Neighbour(NamedTuple):
    """One answer of :meth:`PostgresGallery.search_hnsw`: the person, the cosine similarity, the embedding's row id."""

    name: str
    similarity: float
    embedding_id: int


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise BackendUnavailableError("postgresql:// gallery: needs the PostgreSQL client psycopg 3; "
                                      "pip install \"psycopg[binary]\"") from None
    return psycopg


def split_url(url: str) -> tuple[str, str, str | None]:
    """(conninfo for libpq, the location without its password, the password or None).

    ``postgresql+psycopg://`` (SQLAlchemy's spelling) and ``postgres://`` become ``postgresql://``;
    the password is dropped from the location (libpq then reads it from PGPASSWORD or ~/.pgpass).
    """
    url = str(url)
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower().split("+", 1)[0] not in ("postgresql", "postgres"):
        raise BackendUnavailableError(f"{scheme}:// gallery: not a PostgreSQL URL (postgresql://user@host/database)")
    conninfo = "postgresql://" + rest
    parts = urlsplit(conninfo)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    query = parse_qsl(parts.query, keep_blank_values=True)
    password = password if colon else None
    for key, value in query:
        if key == "password":
            password = value
    netloc = f"{user}@{hosts}" if at and user else hosts
    query = [(key, value) for key, value in query if key != "password"]
    location = urlunsplit(("postgresql", netloc, parts.path, urlencode(query, safe="/"), ""))
    return conninfo, location, password or None


def _one_line(error, secret: str | None) -> str:
    """An exception's message on one line, with the password (should a message ever echo it) masked."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip()) or type(error).__name__
    if secret:
        text = text.replace(secret, "***")
    return text


def _embedding_rows(person_id: int, batch: Batch, now: str):
    """The COPY rows of a batch, one at a time (also where tests interrupt an enrolment)."""
    created = batch.vector_created or (now,) * len(batch.vectors)
    dim = batch.vectors.shape[1]
    for vector, sha, when in zip(batch.vectors, batch.hashes, created):
        yield person_id, vector, dim, batch.model, batch.version, sha, when


class _Vector:
    """A query parameter sent as pgvector's binary ``vector``."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray):
        self.array = array


def _vector_adapters(psycopg, oid: int):
    """Binary dumper and loader of pgvector's ``vector``: int16 dim, int16 unused, dim big-endian float32."""
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format

    class VectorDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj):
            array = obj.array if isinstance(obj, _Vector) else obj
            return struct.pack(">HH", len(array), 0) + np.asarray(array, ">f4").tobytes()

    class VectorLoader(Loader):
        format = Format.BINARY

        def load(self, data):
            dim, _ = struct.unpack_from(">HH", data)
            return np.frombuffer(data, ">f4", dim, 4).astype("<f4").tobytes()  # little-endian bytes, as exported

    VectorDumper.oid = oid
    return VectorDumper, VectorLoader


class PostgresGallery(Gallery):
    """A gallery in the PostgreSQL database at ``url`` (tables created in an empty one).

    ``connect_timeout_s`` bounds reaching the server; ``lock_timeout_s`` how long a write waits for
    another process's write (then a GalleryError, nothing written); ``vacuum`` what a removal runs
    ("full": the bytes are gone from the table and index files, see the module; "plain": quick, the
    space is only marked free); ``index_memory`` the maintenance_work_mem an HNSW index build may use.
    """

    def __init__(self, url, rule: OpenSetRule | None = None, *, connect_timeout_s: float = 10.0,
                 lock_timeout_s: float = 30.0, vacuum: str = "full", index_memory: str = "1GB"):
        super().__init__(rule)
        self._conninfo, self.location, self._password = split_url(url)
        if vacuum not in ("full", "plain"):
            raise GalleryError(f"{self.location}: vacuum={vacuum!r} is not 'full' or 'plain'")
        if not re.fullmatch(r"\d+\s*(kB|MB|GB)", index_memory):
            raise GalleryError(f"{self.location}: index_memory={index_memory!r} is not a size like '1GB' or '512MB'")
        self._vacuum, self._index_memory = vacuum, index_memory
        self._lock_ms = int(lock_timeout_s * 1000)
        self._psycopg = _psycopg()
        self._connection = self._connect(connect_timeout_s)
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    # --- opening -----------------------------------------------------------------------
    def _connect(self, timeout_s: float):
        psycopg = self._psycopg
        try:
            params = {"application_name": "facelab-gallery"}
            if "connect_timeout" not in self._conninfo:
                params["connect_timeout"] = max(1, round(timeout_s))
            connection = psycopg.connect(self._conninfo, autocommit=True, **params)
        except psycopg.Error as error:
            raise GalleryConnectionError(f"{self.location}: cannot connect to the PostgreSQL server "
                                         f"({_one_line(error, self._password)})") from None
        except Exception as error:  # a malformed URL (libpq's own parse error)
            raise GalleryConnectionError(f"{self.location}: not a valid PostgreSQL URL "
                                         f"({_one_line(error, self._password)})") from None
        connection.execute(f"SET lock_timeout = {self._lock_ms}")
        return connection

    def _open(self) -> None:
        """Check the schema is a facelab gallery this facelab reads, or create the tables in an empty one."""
        with self._errors("open"), self._connection.transaction():
            cursor = self._connection.cursor()
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_LOCK,))  # racing creators take turns
            schema = cursor.execute("SELECT current_schema()").fetchone()[0]
            tables = {name for (name,) in cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s",
                                                         (schema,))}
            if "facelab_gallery" in tables:
                row = cursor.execute("SELECT application, schema_version FROM facelab_gallery WHERE id = 1").fetchone()
                if row is None or row[0] != APPLICATION:
                    raise GalleryFileError(self.location, "a facelab_gallery table, but no facelab gallery row in it")
                if row[1] > SCHEMA_VERSION:
                    raise GalleryFileError(self.location, f"gallery schema version {row[1]} is newer than this facelab "
                                                          f"reads ({SCHEMA_VERSION}); upgrade facelab")
                missing = {"people", "embeddings"} - tables
                if missing:
                    raise GalleryFileError(self.location, f"a facelab gallery without its tables {sorted(missing)}")
                self._check_pgvector(cursor, create=False)
            elif tables:
                listed = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
                raise GalleryFileError(self.location, f"a PostgreSQL database but not a facelab gallery (schema "
                                                      f"{schema!r} holds tables {listed} and no facelab_gallery)")
            else:
                self._check_pgvector(cursor, create=True)
                for statement in SCHEMA.split(";"):  # (no semicolon in the comments)
                    if statement.strip():
                        cursor.execute(statement)
                cursor.execute("INSERT INTO facelab_gallery VALUES (1, %s, %s, 0, %s)",
                               (APPLICATION, SCHEMA_VERSION, utc_now()))
            oid = cursor.execute("SELECT 'vector'::regtype::oid").fetchone()[0]
        dumper, loader = _vector_adapters(self._psycopg, oid)
        self._connection.adapters.register_dumper(_Vector, dumper)
        self._connection.adapters.register_loader(oid, loader)
        self._vector_oid = oid

    def _check_pgvector(self, cursor, create: bool) -> None:
        row = cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        if row is None:
            available = cursor.execute("SELECT default_version FROM pg_available_extensions "
                                       "WHERE name = 'vector'").fetchone()
            if available is None:
                raise BackendUnavailableError(f"{self.location}: the server has no pgvector extension; install "
                                              "pgvector (0.5 or newer) on the server")
            if not create:
                raise GalleryFileError(self.location, "a facelab gallery whose pgvector extension was dropped")
            psycopg = self._psycopg
            try:
                with self._connection.transaction():  # a savepoint: a refusal is reported, not a broken transaction
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except psycopg.errors.InsufficientPrivilege:
                user = cursor.execute("SELECT current_user").fetchone()[0]
                raise BackendUnavailableError(f"{self.location}: pgvector is not enabled in this database and role "
                                              f"{user!r} may not enable it; a superuser runs CREATE EXTENSION vector "
                                              "there once") from None
            row = cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        version = tuple(int(part) for part in re.findall(r"\d+", row[0])[:3])
        if version < MIN_PGVECTOR:
            raise BackendUnavailableError(f"{self.location}: pgvector {row[0]} has no HNSW index; facelab needs "
                                          f"{'.'.join(map(str, MIN_PGVECTOR))} or newer (ALTER EXTENSION vector UPDATE)")

    @contextmanager
    def _errors(self, action: str):
        """psycopg's errors as one-line GalleryErrors naming the gallery (never the password)."""
        psycopg = self._psycopg
        try:
            yield
        except psycopg.errors.LockNotAvailable:
            raise GalleryError(f"{action}: another process held {self.location}'s write lock for over "
                               f"{self._lock_ms / 1000:g} s; nothing was written, try again") from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            raise GalleryConnectionError(f"{action}: lost the PostgreSQL server at {self.location} "
                                         f"({_one_line(error, self._password)})") from None
        except psycopg.Error as error:
            raise GalleryError(f"{action}: {self.location}: {_one_line(error, self._password)}") from None

    @contextmanager
    def _write(self, action: str):
        """One transaction holding the gallery's write lock; it bumps the generation on its way out."""
        connection = self._open_connection()
        with self._errors(action), connection.transaction():
            cursor = connection.cursor()
            before = cursor.execute("SELECT generation FROM facelab_gallery WHERE id = 1 FOR UPDATE").fetchone()[0]
            yield cursor
            after = cursor.execute("UPDATE facelab_gallery SET generation = generation + 1 WHERE id = 1 "
                                   "RETURNING generation").fetchone()[0]
        if before == self._snapshot_token:  # nobody else wrote since our snapshot: our own write keeps it current
            self._snapshot_token = after

    # --- writes --------------------------------------------------------------------------
    def _write_batches(self, batches: Sequence[Batch]) -> list[Enrolment]:
        now = utc_now()
        action = f"enrol {batches[0].name!r}" if len(batches) == 1 else f"import into {self.location}"
        if not batches:
            return []
        with self._write(action) as cursor:
            held = self._held_model(cursor)
            for batch in batches:
                check_compatible(held, batch.model, batch.version, batch.vectors.shape[1], f"enrol {batch.name!r}")
                if held is None:
                    held = HeldModel(batch.model, batch.version, batch.vectors.shape[1])
                    self._type_column(cursor, held.dim)
            plan, results = self._plan(cursor, batches, now)
            added = sum(len(batch.vectors) for batch in batches)
            rebuild = (added >= REBUILD_INDEX_AT and held.dim <= HNSW_MAX_DIM
                       and added > cursor.execute("SELECT count(*) FROM embeddings").fetchone()[0])
            if rebuild:
                cursor.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")
            new_people = [(person_id, batch.name, batch.created or now, batch.updated or now)
                          for person_id, batch, created in plan if created]
            if new_people:
                with cursor.copy("COPY people (id, name, created, updated) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["int8", "text", "text", "text"])
                    for row in new_people:
                        copy.write_row(row)
            updated = sorted({person_id for person_id, _, created in plan if not created})
            if updated:
                cursor.execute("UPDATE people SET updated = %s WHERE id = ANY(%s)", (now, updated))
            with cursor.copy("COPY embeddings (person_id, vector, dim, model_name, model_version, image_sha256, "
                             "created) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", self._vector_oid, "int4", "text", "text", "text", "text"])
                for person_id, batch, _ in plan:
                    for row in _embedding_rows(person_id, batch, now):
                        copy.write_row(row)
            if rebuild:
                self._build_index(cursor)
        return results

    def _plan(self, cursor, batches: Sequence[Batch], now: str):
        """Check every batch in order against the stored people (as the SQLite backend does, one by one), with
        one query for all of them; returns [(person_id, batch, created)] and the Enrolments."""
        names = sorted({batch.name for batch in batches})
        ids = dict(cursor.execute("SELECT name, id FROM people WHERE name = ANY(%s)", (names,)).fetchall())
        held: dict[int, set[str]] = {person_id: set() for person_id in ids.values()}
        for person_id, sha in cursor.execute("SELECT person_id, image_sha256 FROM embeddings WHERE person_id = "
                                             "ANY(%s)", (list(ids.values()),)):
            held[person_id].add(sha)
        fresh = [batch.name for batch in batches if batch.name not in ids]
        new_ids = iter(cursor.execute("SELECT nextval(pg_get_serial_sequence('people', 'id')) FROM "
                                      "generate_series(1, %s)", (len(set(fresh)),)).fetchall() if fresh else [])
        plan, results = [], []
        for batch in batches:
            if batch.name not in ids:
                if batch.mode == "add":
                    raise UnknownPersonError(f"enrol {batch.name!r}: no such person in {self.location} (mode='add'); "
                                             "use mode='new' to create them")
                ids[batch.name] = person_id = next(new_ids)[0]
                held[person_id] = set()
                created = True
            else:
                if batch.mode == "new":
                    raise PersonExistsError(f"enrol {batch.name!r}: already in {self.location} (mode='new'); use "
                                            "mode='add' to add embeddings to them")
                person_id, created = ids[batch.name], False
                duplicates = sorted(held[person_id].intersection(batch.hashes))
                if duplicates:
                    raise DuplicateEnrolmentError(f"enrol {batch.name!r}: image {duplicates[0]} is already enrolled "
                                                  f"for them ({len(duplicates)} duplicate(s)); nothing was enrolled")
            held[person_id].update(batch.hashes)
            plan.append((person_id, batch, created))
            results.append(Enrolment(batch.name, created, len(batch.vectors), len(held[person_id])))
        return plan, results

    def _type_column(self, cursor, dim: int) -> None:
        """An empty gallery's first embeddings fix the column to vector(dim), with its HNSW index (both transactional)."""
        typmod = cursor.execute("SELECT atttypmod FROM pg_attribute WHERE attrelid = 'embeddings'::regclass "
                                "AND attname = 'vector'").fetchone()[0]
        if typmod != dim:
            cursor.execute(f"ALTER TABLE embeddings ALTER COLUMN vector TYPE vector({int(dim)})")
        if dim > HNSW_MAX_DIM:
            cursor.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")
        elif typmod != dim or not self._has_index(cursor):
            self._build_index(cursor)

    @staticmethod
    def _has_index(cursor) -> bool:
        return cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (HNSW_INDEX,)).fetchone()[0]

    def _build_index(self, cursor) -> None:
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{self._index_memory}'")
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {HNSW_INDEX} ON embeddings USING hnsw (vector vector_cosine_ops)")

    def _person_id(self, cursor, name: str, action: str) -> int:
        row = cursor.execute("SELECT id FROM people WHERE name = %s", (name,)).fetchone()
        if row is None:
            raise UnknownPersonError(f"{action}: no person {name!r} in {self.location}")
        return row[0]

    def _rename(self, old: str, new: str) -> None:
        with self._write(f"rename {old!r}") as cursor:
            person_id = self._person_id(cursor, old, f"rename {old!r}")
            if old != new and cursor.execute("SELECT 1 FROM people WHERE name = %s", (new,)).fetchone():
                raise PersonExistsError(f"rename {old!r}: {new!r} is already in {self.location}")
            cursor.execute("UPDATE people SET name = %s, updated = %s WHERE id = %s", (new, utc_now(), person_id))

    def _remove(self, name: str) -> int:
        action = f"remove {name!r}"
        with self._write(action) as cursor:
            person_id = self._person_id(cursor, name, action)
            removed = cursor.execute("DELETE FROM embeddings WHERE person_id = %s", (person_id,)).rowcount
            cursor.execute("DELETE FROM people WHERE id = %s", (person_id,))
        self._compact(action)
        return removed

    def _compact(self, action: str) -> None:
        """VACUUM (FULL) people and embeddings: outside any transaction, as PostgreSQL requires; see the module."""
        connection = self._open_connection()
        command = "VACUUM FULL" if self._vacuum == "full" else "VACUUM"
        try:
            with self._errors(action):
                connection.execute(f"{command} people, embeddings")
        except GalleryError as error:
            raise GalleryError(f"{action}: deleted, but {command} did not run, so the removed rows' bytes may stay "
                               f"in the files until the next removal ({error})") from None

    # --- reads ---------------------------------------------------------------------------
    @staticmethod
    def _held_model(cursor) -> HeldModel | None:
        row = cursor.execute("SELECT model_name, model_version, dim FROM embeddings LIMIT 1").fetchone()
        return HeldModel(*row) if row else None

    def held_model(self) -> HeldModel | None:
        with self._errors("held model"):
            return self._held_model(self._open_connection().cursor())

    def people(self) -> list[Person]:
        with self._errors("people"):
            rows = self._open_connection().execute(
                "SELECT p.name, count(e.id), p.created, p.updated FROM people p LEFT JOIN embeddings e "
                "ON e.person_id = p.id GROUP BY p.id ORDER BY p.name COLLATE \"C\"").fetchall()
        return [Person(*row) for row in rows]

    def _change_token(self):
        with self._errors("identify"):
            return self._open_connection().execute("SELECT generation FROM facelab_gallery WHERE id = 1").fetchone()[0]

    def _load_snapshot(self) -> Snapshot:
        connection = self._open_connection()
        with self._errors("load the gallery"), connection.transaction():
            cursor = connection.cursor()
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")  # one view for the queries
            names = dict(cursor.execute("SELECT id, name FROM people ORDER BY id").fetchall())
            models = cursor.execute("SELECT DISTINCT model_name, model_version, dim FROM embeddings").fetchall()
            if len(models) > 1:
                raise GalleryFileError(self.location, f"holds embeddings of several models {models}; a gallery "
                                                      "holds one")
            if not models:
                return Snapshot.build(np.zeros((0, 0), np.float32), np.zeros(0, np.int64), (), None)
            held = HeldModel(*models[0])
            with cursor.copy("COPY (SELECT person_id, vector FROM embeddings ORDER BY id) TO STDOUT "
                             "(FORMAT BINARY)") as copy:
                data = b"".join(copy)
        # binary COPY: a 19-byte header, then per row int16 field count, int32 length + int64 person_id,
        # int32 length + the vector (int16 dim, int16 unused, dim big-endian float32), then an int16 trailer
        record = np.dtype([("fields", ">i2"), ("id_length", ">i4"), ("person_id", ">i8"), ("vector_length", ">i4"),
                           ("dim", ">i2"), ("unused", ">i2"), ("vector", ">f4", (held.dim,))])
        body = data[19:len(data) - 2]
        if len(body) % record.itemsize or data[:11] != b"PGCOPY\n\xff\r\n\x00":
            raise GalleryError(f"{self.location}: unexpected COPY data while loading the gallery")
        rows = np.frombuffer(body, record)
        if len(rows) and (set(np.unique(rows["dim"]).tolist()) != {held.dim}):
            raise GalleryFileError(self.location, "embeddings whose vector length is not their dim")
        order = {person_id: index for index, person_id in enumerate(names)}
        owners = np.fromiter((order[person_id] for person_id in rows["person_id"].tolist()), np.int64, len(rows))
        return Snapshot.build(rows["vector"].astype(np.float32), owners, tuple(names.values()), held)

    def _export_people(self):
        connection = self._open_connection()
        with self._errors("export"), connection.transaction():
            cursor = connection.cursor(binary=True)
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            people = cursor.execute("SELECT id, name, created, updated FROM people ORDER BY name COLLATE \"C\"").fetchall()
            for person_id, name, created, updated in people:
                rows = cursor.execute("SELECT vector, dim, model_name, model_version, image_sha256, created FROM "
                                      "embeddings WHERE person_id = %s ORDER BY id", (person_id,)).fetchall()
                yield (name, created, updated), rows

    # --- approximate search through the index ----------------------------------------------
    def search_hnsw(self, embeddings, k: int = 1, model: str | None = None, version: str | None = None, *,
                    ef_search: int | None = None) -> list[list[Neighbour]]:
        """The ``k`` nearest stored embeddings of each probe by cosine similarity, through the HNSW index.

        Approximate: the index may miss the true nearest (recall rises with ``ef_search``, pgvector's
        ``hnsw.ef_search``, default 40, raised to ``k`` when smaller). :meth:`identify` is the exact
        search and applies the open-set rule; this returns raw neighbours, best first. ``model`` and
        ``version``, when given, must be the gallery's.
        """
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 1000:
            raise GalleryError(f"search_hnsw: k={k!r} must be an integer from 1 to 1000 (pgvector's ef_search limit)")
        if ef_search is not None and (not isinstance(ef_search, int) or not 1 <= ef_search <= 1000):
            raise GalleryError(f"search_hnsw: ef_search={ef_search!r} must be an integer from 1 to 1000")
        probes = as_embeddings(embeddings, "search_hnsw: probe")
        held = self.held_model()
        if held is None:
            return [[] for _ in range(len(probes))]
        if model is not None or version is not None:
            check_model(model, version)
            check_compatible(held, model, version, probes.shape[1], "search_hnsw")
        elif probes.shape[1] != held.dim:
            raise EmbeddingError(f"search_hnsw: embeddings of dimension {probes.shape[1]}, but the gallery holds "
                                 f"{held.dim}-d embeddings of model {held.model!r}")
        if held.dim > HNSW_MAX_DIM:
            raise GalleryError(f"search_hnsw: {held.dim}-d embeddings have no HNSW index (pgvector indexes up to "
                               f"{HNSW_MAX_DIM} dimensions); use identify (exact)")
        connection = self._open_connection()
        answers = []
        with self._errors("search_hnsw"), connection.transaction():
            cursor = connection.cursor()
            cursor.execute(f"SET LOCAL hnsw.ef_search = {max(ef_search or 40, k)}")
            cursor.execute("SET LOCAL enable_seqscan = off")  # through the index, also on a small table
            for probe in probes:
                rows = cursor.execute(
                    "SELECT p.name, 1 - n.distance, n.id FROM (SELECT id, person_id, vector <=> %(q)b AS distance "
                    "FROM embeddings ORDER BY vector <=> %(q)b LIMIT %(k)s) n JOIN people p ON p.id = n.person_id "
                    "ORDER BY n.distance, n.id", {"q": _Vector(probe), "k": k}).fetchall()
                answers.append([Neighbour(name, min(1.0, max(-1.0, float(similarity))), int(row_id))
                                for name, similarity, row_id in rows])
        return answers
