"""From a location string to a gallery backend: a path or ``sqlite:///path`` today, ``postgresql://`` next."""
from __future__ import annotations

from pathlib import Path

from .base import Gallery
from .errors import BackendUnavailableError
from .rule import OpenSetRule
from .sqlite import SQLiteGallery

#: URL scheme -> backend class; the PostgreSQL + pgvector backend registers "postgresql" here
BACKENDS: dict[str, type[Gallery]] = {"sqlite": SQLiteGallery}
_PLANNED = {"postgresql": "PostgreSQL (+ pgvector)", "postgres": "PostgreSQL (+ pgvector)"}


def open_gallery(location, rule: OpenSetRule | None = None, **options) -> Gallery:
    """Open (creating if needed) the gallery at ``location``: a file path, or ``sqlite:///relative/or//absolute/path``.

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
    if scheme in _PLANNED:
        raise BackendUnavailableError(f"{scheme}:// gallery: the {_PLANNED[scheme]} backend is not available yet; use a "
                                      "SQLite file (a path or sqlite:///path)")
    raise BackendUnavailableError(f"{scheme}:// gallery: unknown backend; facelab reads {sorted(BACKENDS)} "
                                  "(a path or sqlite:///path)")
