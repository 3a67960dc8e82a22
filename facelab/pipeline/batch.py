"""Batch analysis of a photo and video collection, in this process or on a Dask cluster.

Both ways run the same per-file function on one file at a time, so a file's JSON row does not depend on where it
ran or on what else was in the batch: a Dask run gives the single-process run's rows byte for byte
(tests/test_batch.py). One analyzer (one load of every model) per worker process, cached at module level; rows
come back as each file finishes, so a caller can write them as they arrive and a killed run keeps what it wrote.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import BadInputError, FacelabError
from ..preprocess import IMAGE_SUFFIXES, VIDEO_SUFFIXES

#: timing fields of a video's result: left out of its row so that rows are reproducible (summed separately)
_VIDEO_TIMING_KEYS = ("frames_per_s", "seconds_per_stage")


@dataclass(frozen=True)
class BatchOptions:
    """What every file of a batch is analysed with (picklable: it travels to the Dask workers).

    ``gallery``: a SQLite path or ``postgresql://`` URL every worker can reach; ``video_out``: a folder every worker
    can write, for the annotated videos and track JSON (photos' annotated copies are drawn by the caller)."""

    detector: str | None = None
    gallery: str | None = None
    video_every: int = 2
    video_out: str | None = None


def is_video(path) -> bool:
    return Path(str(path)).suffix.lower() in VIDEO_SUFFIXES


def analyzer_for(options: BatchOptions):
    from .analyzer import FaceAnalyzer

    return FaceAnalyzer(detector=options.detector, gallery=options.gallery)


def analyze_file(path: str, analyzer, options: BatchOptions) -> dict:
    """The JSON row of one photo (``{"image", "width", "height", "faces"}``) or video (``{"video", ..., "tracks"}``);
    a file that cannot be read is ``{"image"|"video": path, "error": "..."}`` and nothing is raised."""
    key = "video" if is_video(path) else "image"
    try:
        if key == "video":
            from .video import analyze_video

            result = analyze_video(path, analyzer, out_dir=options.video_out, every=options.video_every)
            row = result.to_dict()
            for k in _VIDEO_TIMING_KEYS:
                row.pop(k, None)
        else:
            row = analyzer.analyze([path])[0].to_dict()
    except (BadInputError, FacelabError) as exc:
        return {key: str(path), "error": str(exc)}
    row[key] = str(path)
    return row


# ------------------------------------------------------------------ on a Dask worker
_WORKER: dict = {}          # options -> analyzer, one per worker process
_WORKER_LOCK = threading.Lock()
_WORKER_STATS = {"model_loads": 0, "files": 0}


def _analyze_on_worker(path: str, options: BatchOptions) -> dict:
    # one lock: a worker with several threads shares one analyzer (Keras models are not safe to call concurrently,
    # and TensorFlow already uses every core of the worker for one file)
    with _WORKER_LOCK:
        analyzer = _WORKER.get(options)
        if analyzer is None:
            analyzer = _WORKER[options] = analyzer_for(options)
            _WORKER_STATS["model_loads"] += 1
        _WORKER_STATS["files"] += 1
        return analyze_file(path, analyzer, options)


def _worker_report() -> dict:
    timings: dict = {}
    for analyzer in _WORKER.values():
        for k, v in analyzer.timings.items():
            timings[k] = timings.get(k, 0.0) + v
    return dict(_WORKER_STATS, seconds_per_stage=timings)


def connect(address: str, timeout: str = "10s"):
    """A ``distributed.Client`` for ``address``: a scheduler (``tcp://host:8786``, ``host:8786``), or ``local`` /
    ``local:N`` for a LocalCluster of N (default 2) single-threaded worker processes on this machine.
    An unreachable scheduler is one :class:`FacelabError` line."""
    import logging

    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise FacelabError(f"--dask needs dask.distributed (pip install 'dask[distributed]'): {exc}") from exc
    if address == "local" or address.startswith("local:"):
        try:
            workers = int(address.partition(":")[2] or 2)
        except ValueError:
            raise FacelabError(f"--dask {address}: write local or local:N with N workers") from None
        if workers < 1:
            raise FacelabError(f"--dask {address}: at least one worker")
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        return Client(cluster)
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise FacelabError(f"Dask scheduler {address}: cannot connect ({type(exc).__name__}: {exc})") from None


@dataclass
class BatchReport:
    """What a batch run did besides its rows: per Dask worker the files and model loads, and seconds per stage."""

    workers: dict
    seconds_per_stage: dict
    resumed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def run_batch(files: list[str], options: BatchOptions, *, client=None, report: BatchReport | None = None,
              analyzer=None) -> Iterator[tuple[int, dict]]:
    """(index in ``files``, row) per file as each finishes: in input order in this process (with ``analyzer``, or
    one built from ``options``), in finishing order on the Dask ``client``. A worker that dies takes only its file:
    that row is an error naming it."""
    report = report if report is not None else BatchReport({}, {})
    if not files:  # e.g. a resumed run with every file done: no models to load, no workers to ask
        return
    if client is None:
        analyzer = analyzer if analyzer is not None else analyzer_for(options)
        for i, path in enumerate(files):
            yield i, analyze_file(path, analyzer, options)
        report.workers = {"local": {"files": len(files), "model_loads": 1}}
        report.seconds_per_stage = {k: round(v, 4) for k, v in analyzer.timings.items()}
        return
    from distributed import as_completed

    futures = client.map(_analyze_on_worker, files, options=options, pure=False)
    index = {f.key: i for i, f in enumerate(futures)}
    for future in as_completed(futures):
        i = index[future.key]
        try:
            row = future.result()
        except Exception as exc:  # a killed worker, an exception inside it: report the file, keep the others
            row = {("video" if is_video(files[i]) else "image"): files[i],
                   "error": f"{files[i]}: failed on the Dask worker ({type(exc).__name__}: {exc})"}
        future.release()
        yield i, row
    stats = client.run(_worker_report)
    report.workers = {w: {"files": s["files"], "model_loads": s["model_loads"]} for w, s in stats.items()}
    total: dict = {}
    for s in stats.values():
        for k, v in s["seconds_per_stage"].items():
            total[k] = total.get(k, 0.0) + v
    report.seconds_per_stage = {k: round(v, 4) for k, v in total.items()}


# ------------------------------------------------------------------ rows written as they arrive
def row_line(row: dict) -> str:
    """A row as one JSON line: the byte form both runs are compared in."""
    return json.dumps(row, sort_keys=True, ensure_ascii=True, default=str)


def read_done(jsonl: Path) -> dict[str, dict]:
    """Rows already in a results file, by file, without error (a run resumed after a kill skips those); a last
    line cut by the kill is ignored."""
    done = {}
    if not jsonl.exists():
        return done
    with open(jsonl, encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and "error" not in row:
                done[row.get("image", row.get("video"))] = row
    return done


class RowWriter:
    """Appends rows to a JSON-lines file, each flushed to disk before the next: what a killed run wrote stays."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # a line cut by an earlier kill: start on a fresh line so the next row parses
        needs_newline = False
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, "rb") as fh:
                fh.seek(-1, os.SEEK_END)
                needs_newline = fh.read(1) != b"\n"
        self._fh = open(self.path, "a", encoding="utf-8")
        if needs_newline:
            self._fh.write("\n")

    def write(self, row: dict) -> None:
        self._fh.write(row_line(row) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def collection(paths: Iterable) -> list[tuple[str, str | None]]:
    """(file, None) per photo or video named or inside a named folder; (folder, error) for one holding neither."""
    from .faces import expand_paths

    return expand_paths(paths, suffixes=IMAGE_SUFFIXES | VIDEO_SUFFIXES)
