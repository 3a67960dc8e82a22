"""Time the PostgreSQL gallery's HNSW search (pgvector) against exact search, at scale, on random unit vectors.

The data are random unit vectors (256-d by default), not face embeddings: N embeddings, ``--per-person``
of them per person. The probes are "a face seen again": each is at cosine ``--probe-cosine`` (0.8) to
one stored embedding, in a random direction otherwise; ``--strangers`` more probes are random unit
vectors (nobody enrolled), where an HNSW graph finds the true nearest neighbour far less easily, since
in 256 dimensions every random vector is about equally far from everything.

Recall@1: the share of probes whose first HNSW answer is the stored embedding exact search ranks first
(a matrix product over all N). ef_search (pgvector's ``hnsw.ef_search``) is raised through ``--ef``
until recall@1 >= ``--target-recall``; the index is pgvector's default HNSW (m = 16,
ef_construction = 64, cosine distance). Exact search over the same rows through the SQLite backend
(its in-memory matrix, as ``Gallery.identify`` searches) is timed beside it, and so is the PostgreSQL
backend's own exact search (the same matrix, loaded from PostgreSQL).

Run it as ``docs/benchmarks/gallery_scale.py`` (one size, JSON) or from notebook 07 (sizes 10 to 1,000,000):

    .venv/bin/python docs/benchmarks/gallery_scale.py --size 100000
    .venv/bin/python docs/benchmarks/gallery_scale.py --size 1000000 --index-memory 2GB

A throwaway server (the ``pgserver`` package of the dev extras: PostgreSQL 16 + pgvector 0.6) is started
in a temporary folder and deleted at the end, unless ``--url`` names an empty database on a server of
your own. The server keeps its defaults (shared_buffers 128 MB: index pages beyond it come from the OS
page cache), except the build's maintenance_work_mem (``--index-memory``). Prints one JSON object.
"""
from __future__ import annotations

import hashlib
import os
import platform
import re
import resource
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from ..gallery import OpenSetRule, PostgresGallery, SQLiteGallery
from ..gallery.base import Batch

MODEL, VERSION = "random-unit", "sha256:benchmark"
RULE = OpenSetRule(threshold=0.5, slope=12.0, intercept=-6.0)  # any rule: the decisions are not measured


def unit_rows(rng, n: int, dim: int, chunk: int = 100_000) -> np.ndarray:
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, chunk):
        block = rng.standard_normal((min(chunk, n - start), dim), dtype=np.float32)
        out[start:start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def probes_near(rng, stored: np.ndarray, targets: np.ndarray, cosine: float) -> np.ndarray:
    """Unit vectors at exactly ``cosine`` to each ``stored[target]``."""
    anchor = stored[targets].astype(np.float64)
    other = rng.standard_normal(anchor.shape)
    other -= (other * anchor).sum(1, keepdims=True) * anchor
    other /= np.linalg.norm(other, axis=1, keepdims=True)
    return (cosine * anchor + np.sqrt(1 - cosine ** 2) * other).astype(np.float32)


def batches(vectors: np.ndarray, per_person: int) -> list[Batch]:
    out = []
    for index, start in enumerate(range(0, len(vectors), per_person)):
        rows = vectors[start:start + per_person]
        image_hashes = tuple(hashlib.sha256(f"{start + i}".encode()).hexdigest() for i in range(len(rows)))
        out.append(Batch(f"person{index:07d}", rows, MODEL, VERSION, image_hashes))
    return out


def ms(seconds: list[float]) -> dict:
    values = sorted(seconds)
    return {"mean_ms": round(1000 * statistics.fmean(values), 3), "p50_ms": round(1000 * values[len(values) // 2], 3),
            "p95_ms": round(1000 * values[min(len(values) - 1, int(0.95 * len(values)))], 3)}


def exact_top1(matrix: np.ndarray, probes: np.ndarray) -> np.ndarray:
    probes = probes / np.linalg.norm(probes, axis=1, keepdims=True)
    return np.concatenate([(probes[s:s + 256] @ matrix.T).argmax(1) for s in range(0, len(probes), 256)])


def time_identify(gallery, probes: np.ndarray) -> dict:
    gallery.identify(probes[0], MODEL, VERSION)  # warm: the matrix is loaded
    times = []
    for probe in probes:
        started = time.perf_counter()
        gallery.identify(probe, MODEL, VERSION)
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    gallery.identify(probes, MODEL, VERSION)
    batched = (time.perf_counter() - started) / len(probes)
    return {"one_probe_per_call": ms(times), "batched_ms_per_probe": round(1000 * batched, 3)}


def start_server(folder: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is not set
        import pgserver
        server = pgserver.get_server(folder, cleanup_mode="delete")
    import psycopg
    socket_dir = server.get_postmaster_info().socket_dir
    with psycopg.connect(f"postgresql://postgres@/postgres?host={socket_dir}", autocommit=True) as connection:
        connection.execute("CREATE DATABASE gallery")
    return server, f"postgresql://postgres@/gallery?host={socket_dir}"


def measure(size: int = 1_000_000, dim: int = 256, per_person: int = 10, queries: int = 500, strangers: int = 100,
            probe_cosine: float = 0.8, ef: str = "10,20,40,80,160,320,640,1000", target_recall: float = 0.99,
            index_memory: str = "1GB", url: str | None = None, no_sqlite: bool = False,
            seed: int = 0, spread: float | None = None, target: str = "embedding") -> dict:
    """One measurement at ``size`` embeddings (see the module's text); the JSON-ready result.

    ``spread``: None stores independent random unit vectors (the hardest case for an HNSW graph); a cosine such as
    0.7 stores face-like clusters instead, each person's embeddings at that cosine to the person's own random
    centre. ``target``: which recall@1 must reach ``target_recall`` -- ``"embedding"`` (HNSW's first answer is exact
    search's first embedding) or ``"person"`` (it belongs to the same person: the identification is the same)."""
    if target not in ("embedding", "person"):
        raise ValueError(f"target must be 'embedding' or 'person', not {target!r}")
    from types import SimpleNamespace

    args = SimpleNamespace(size=size, dim=dim, per_person=per_person, queries=queries, strangers=strangers,
                           probe_cosine=probe_cosine, ef=ef, target_recall=target_recall, index_memory=index_memory,
                           url=url, no_sqlite=no_sqlite, seed=seed)

    rng = np.random.default_rng(args.seed)
    shape = ("independent random unit vectors" if spread is None else
             f"clusters: each person's embeddings at cosine {spread} to a random centre of their own")
    result = {"size": args.size, "dim": args.dim, "per_person": args.per_person, "spread": spread, "target": target,
              "data": f"{shape} (not face embeddings); probes at cosine "
                      f"{args.probe_cosine} to a stored embedding, strangers random unit vectors",
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}}
    started = time.perf_counter()
    vectors = unit_rows(rng, args.size, args.dim)
    if spread is not None:  # face-like: rows of one person around that person's centre
        n_people = -(-args.size // args.per_person)
        centres = np.repeat(unit_rows(rng, n_people, args.dim), args.per_person, axis=0)[: args.size]
        vectors = spread * centres + np.sqrt(1 - spread ** 2) * vectors
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        del centres
    people = batches(vectors, args.per_person)
    result["generate_s"] = round(time.perf_counter() - started, 2)
    targets = rng.choice(args.size, args.queries, replace=False)
    near = probes_near(rng, vectors, targets, args.probe_cosine)
    strangers = unit_rows(rng, args.strangers, args.dim)

    work = Path(tempfile.mkdtemp(prefix="gallery-scale-"))
    server = None
    build = PostgresGallery._build_index
    try:
        url = args.url
        if url is None:
            started = time.perf_counter()
            server, url = start_server(work / "pg")
            result["server_start_s"] = round(time.perf_counter() - started, 2)
        builds = []

        def timed_build(self, cursor):
            begun = time.perf_counter()
            build(self, cursor)
            builds.append(time.perf_counter() - begun)

        PostgresGallery._build_index = timed_build
        with PostgresGallery(url, RULE, index_memory=args.index_memory) as gallery:
            connection = gallery._connection
            result["postgres"] = connection.execute("SHOW server_version").fetchone()[0]
            result["pgvector"] = connection.execute("SELECT extversion FROM pg_extension "
                                                    "WHERE extname = 'vector'").fetchone()[0]
            started = time.perf_counter()
            gallery._write_batches(people)  # one transaction: rows by COPY, then the HNSW index built once
            write_s = time.perf_counter() - started
            result["postgres_write_s"] = round(write_s, 2)
            result["hnsw_build_s"] = round(builds[-1], 2)
            result["postgres_copy_s"] = round(write_s - builds[-1], 2)
            connection.execute("VACUUM ANALYZE embeddings")
            sizes = {"database": "pg_database_size(current_database())",
                     "embeddings_table": "pg_relation_size('embeddings')",
                     "hnsw_index": "pg_relation_size('embeddings_vector_hnsw')"}
            result["postgres_sizes_mb"] = {name: round(connection.execute(f"SELECT {size}").fetchone()[0] / 2**20, 1)
                                           for name, size in sizes.items()}
            ids = np.array([row[0] for row in connection.execute("SELECT id FROM embeddings ORDER BY id")], np.int64)

            started = time.perf_counter()
            matrix = gallery.snapshot().matrix  # the exact search's matrix, loaded from PostgreSQL
            result["postgres_exact"] = {"load_matrix_s": round(time.perf_counter() - started, 2),
                                        **time_identify(gallery, near[:100])}
            truth_near, truth_strangers = ids[exact_top1(matrix, near)], ids[exact_top1(matrix, strangers)]
            plan = connection.execute("EXPLAIN SELECT id FROM embeddings ORDER BY vector <=> %s::vector LIMIT 1",
                                      ("[" + ",".join(["1"] * args.dim) + "]",)).fetchall()
            result["plan_without_forcing"] = re.sub(r"'\[[^]]*\]'", "'[...]'",
                                                    " / ".join(" ".join(line.split()) for (line,) in plan))

            sweep, chosen = [], None
            for ef in [int(value) for value in args.ef.split(",")]:
                gallery.search_hnsw(near[:5], 1, ef_search=ef)  # warm: prepared statement, index pages
                times, found = [], []
                for probe in near:
                    begun = time.perf_counter()
                    answer = gallery.search_hnsw(probe, 1, ef_search=ef)
                    times.append(time.perf_counter() - begun)
                    found.append(answer[0][0].embedding_id)
                recall = float(np.mean(np.array(found) == truth_near))
                # rows were written person by person, so a row's position in id order // per_person is its person
                person_of = lambda rows: np.searchsorted(ids, np.asarray(rows)) // args.per_person  # noqa: E731
                person_recall = float(np.mean(person_of(found) == person_of(truth_near)))
                stranger_found = [gallery.search_hnsw(probe, 1, ef_search=ef)[0][0].embedding_id for probe in strangers]
                row = {"ef_search": ef, "recall_at_1": round(recall, 4), "person_recall_at_1": round(person_recall, 4),
                       **ms(times),
                       "strangers_recall_at_1": round(float(np.mean(np.array(stranger_found) == truth_strangers)), 4)}
                sweep.append(row)
                if (recall if target == "embedding" else person_recall) >= args.target_recall:
                    chosen = row
                    break
            result["hnsw_sweep"] = sweep
            result["hnsw_at_target"] = chosen or (f"{target} recall@1 {args.target_recall} not reached at "
                                                  f"ef_search <= {args.ef}")
            del matrix
            gallery._snapshot = None

        if not args.no_sqlite:
            with SQLiteGallery(work / "gallery.db", RULE) as lite:
                started = time.perf_counter()
                lite._write_batches(people)
                result["sqlite_write_s"] = round(time.perf_counter() - started, 2)
                result["sqlite_file_mb"] = round((work / "gallery.db").stat().st_size / 2**20, 1)
                started = time.perf_counter()
                lite.snapshot()
                result["sqlite_exact"] = {"load_matrix_s": round(time.perf_counter() - started, 2),
                                          **time_identify(lite, near[:100])}
        result["peak_rss_mb_python"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    finally:
        PostgresGallery._build_index = build
        if server is not None:
            server.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    return result
