"""Bottom layer: a face gallery in a real database, identified with an open-set rule.

The gallery takes embeddings and the embedding model's identity (name, version = content
hash of its weights) as arguments, so it imports no stage: only the standard library,
numpy, :mod:`facelab.errors` and :mod:`facelab.config`.

    from facelab.gallery import OpenSetRule, open_gallery
    with open_gallery("faces.db", rule=OpenSetRule(threshold=0.42, slope=12.0, intercept=-5.0)) as gallery:
        gallery.enroll("Ada", vectors, "cnn", version, hashes)          # a new person
        gallery.enroll("Ada", more, "cnn", version, more_hashes, mode="add")
        decisions = gallery.identify(probes, "cnn", version)           # name None = unknown

The same gallery on PostgreSQL with pgvector: ``open_gallery("postgresql://face@db.host/faces", rule=...)``
(client: ``pip install "psycopg[binary]"``); ``PostgresGallery.search_hnsw`` adds approximate search
through its HNSW index. A gallery moves between backends through ``export_to`` / ``import_from``.
"""
from .base import ENROL_MODES, Enrolment, Gallery, HeldModel, Person, image_sha256, read_export
from .errors import (BackendUnavailableError, DuplicateEnrolmentError, EmbeddingError, GalleryError, GalleryFileError,
                     ModelMismatchError, NoRuleError, PersonExistsError, UnknownPersonError)
from .location import BACKENDS, open_gallery
from .postgres import GalleryConnectionError, Neighbour, PostgresGallery
from .rule import Decision, OpenSetRule, Verification
from .sqlite import SQLiteGallery

__all__ = ["BACKENDS", "BackendUnavailableError", "Decision", "DuplicateEnrolmentError", "ENROL_MODES",
           "EmbeddingError", "Enrolment", "Gallery", "GalleryConnectionError", "GalleryError", "GalleryFileError",
           "HeldModel", "ModelMismatchError", "Neighbour", "NoRuleError", "OpenSetRule", "Person", "PersonExistsError",
           "PostgresGallery", "SQLiteGallery",
           "UnknownPersonError", "Verification", "image_sha256", "open_gallery", "read_export"]
