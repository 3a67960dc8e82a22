"""Gallery errors: one line each, naming the person, model or file, so the CLI can print them without a traceback."""
from __future__ import annotations

from ..errors import BadInputError, FacelabError


class GalleryError(FacelabError):
    """Base class of every error the gallery raises on purpose."""


class UnknownPersonError(GalleryError, LookupError):
    """A name that is not in the gallery (rename, remove, enrol with ``mode="add"``)."""


class PersonExistsError(GalleryError):
    """A name that is already taken (enrol with ``mode="new"``, rename onto it)."""


class DuplicateEnrolmentError(GalleryError):
    """The same source image (sha256) enrolled twice for the same person: re-enrolling would bias that person's score."""


class ModelMismatchError(GalleryError):
    """Embeddings of another model or model version: similarities across models are meaningless, so never compared."""


class EmbeddingError(GalleryError, ValueError):
    """Embeddings of the wrong shape or dimension, non-finite or zero, or a count that does not match the hashes."""


class NoRuleError(GalleryError):
    """identify/verify without an open-set rule (threshold + calibration from the embedding's model card)."""


class BackendUnavailableError(GalleryError):
    """A gallery location whose backend facelab does not provide (yet)."""


class GalleryFileError(GalleryError, BadInputError):
    """A gallery database or export file that is corrupt, not a gallery, or written by a newer facelab.

    The message names the file; the file is left exactly as it was.
    """
