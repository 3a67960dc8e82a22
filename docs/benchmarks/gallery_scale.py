"""Time the PostgreSQL gallery's HNSW search (pgvector) against exact search, at scale, on random unit vectors.

The measurement is :mod:`facelab.bench.gallery_scale` (its text says what is measured and how); this prints one
JSON object for one size:

    .venv/bin/python docs/benchmarks/gallery_scale.py --size 100000
    .venv/bin/python docs/benchmarks/gallery_scale.py --size 1000000 --index-memory 2GB
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from facelab.bench import gallery_scale  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=gallery_scale.__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="embeddings stored (default 1,000,000)")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--per-person", type=int, default=10, help="embeddings per person (default 10)")
    parser.add_argument("--queries", type=int, default=500, help="probes near stored embeddings (default 500)")
    parser.add_argument("--strangers", type=int, default=100, help="random probes, nobody's (default 100)")
    parser.add_argument("--probe-cosine", type=float, default=0.8)
    parser.add_argument("--ef", default="10,20,40,80,160,320,640,1000", help="ef_search values to try, ascending")
    parser.add_argument("--target-recall", type=float, default=0.99)
    parser.add_argument("--index-memory", default="1GB", help="maintenance_work_mem of the HNSW build")
    parser.add_argument("--url", help="an EMPTY database on your own server (default: a throwaway pgserver)")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spread", type=float, default=None,
                        help="face-like clusters: each person's embeddings at this cosine to their own centre "
                             "(default: independent random vectors, the hardest case for HNSW)")
    parser.add_argument("--target", choices=("embedding", "person"), default="embedding",
                        help="the recall@1 that must reach --target-recall: the same embedding as exact search, "
                             "or the same person (the same identification)")
    args = parser.parse_args(argv)
    print(json.dumps(gallery_scale.measure(**vars(args)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
