"""From a location string to a gallery backend: a path or ``sqlite:///path``, or ``postgresql://`` (pgvector)."""
from __future__ import annotations

from pathlib import Path

from .base import Gallery
from .errors import BackendUnavailableError
from .postgres import PostgresGallery
from .rule import OpenSetRule
from .sqlite import SQLiteGallery

#: URL scheme -> backend class (PostgreSQL's client, psycopg, is imported only when a postgresql:// gallery opens)
BACKENDS: dict[str, type[Gallery]] = {"sqlite": SQLiteGallery, "postgresql": PostgresGallery,
                                      "postgres": PostgresGallery}


def open_gallery(location, rule: OpenSetRule | None = None, **options) -> Gallery:
    """Open (creating if needed) the gallery at ``location``: a file path, ``sqlite:///relative/or//absolute/path``,
    or ``postgresql://user@host:port/database`` (the tables are created in an empty database).

    ``sqlite:///faces.db`` is ./faces.db and ``sqlite:////srv/faces.db`` is /srv/faces.db (SQLAlchemy's convention).
    """
    if isinstance(location, Path) or "://" not in str(location):
        return SQLiteGallery(location, rule, **options)
    scheme, rest = str(location).split("://", 1)
    scheme = scheme.lower().split("+", 1)[0]  # postgresql+psycopg:// is still PostgreSQL
    if scheme in BACKENDS:
        if scheme == "sqlite":
            if not rest.startswith("/") or rest == "/":
                raise BackendUnavailableError(f"{location}: a SQLite location is sqlite:///path (three slashes, then "
                                              "the file path)")
            return SQLiteGallery(rest[1:], rule, **options)
        return BACKENDS[scheme](location, rule, **options)
    # the URL may carry a password: name only the scheme
    raise BackendUnavailableError(f"{scheme}:// gallery: unknown backend; facelab reads {sorted(BACKENDS)} "
                                  "(a path, sqlite:///path or postgresql://user@host/database)")
