"""One registry per model kind (detector, embedder, identifier, expression model, emotion model).

A :class:`ModelEntry` is the single source of a model's name, factory, whether it is a baseline, its weights file
and model card, its input preprocessing (:class:`InputSpec`: crop policy, size, colour, margin around a detector's
box) and whether it is the kind's default. The CLI's choices, the notebooks, the benchmarks and the tests'
parametrization all read the registries; adding a model is one class, one entry and its test.

Each stage owns its registry (``facelab.detection.DETECTORS``, ``facelab.features.EMBEDDERS``,
``facelab.recognition.IDENTIFIERS``, ``facelab.affect.EXPRESSION_MODELS`` / ``EMOTION_MODELS``); this module
holds only the shape they share, so the bottom layer knows no stage. Factories import their model code when
called, so reading a registry (``facelab --help``) loads no Keras.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..errors import FacelabError


@dataclass(frozen=True)
class InputSpec:
    """What a model takes, so that one path turns a detected face (or a given crop) into its input.

    ``crop``: the crop policy of a whole given image (``facelab.models.inputs.policy_for``: ``"lfw"``, ``"tight"``,
    ``"full"``); ``margin``: the fraction of a detector's box added on each side before resizing (the framing the
    model was trained on); ``size``: side of the square input in pixels (``None``: the model takes any size);
    ``colour``: ``"grey"`` or ``"bgr"``."""

    crop: str = "tight"
    size: int | None = None
    colour: str = "grey"
    margin: float = 0.0


@dataclass(frozen=True)
class ModelEntry:
    name: str
    factory: Callable[..., Any]
    description: str
    baseline: bool = False
    weights: tuple[str, ...] = ()
    card: str | None = None
    inputs: InputSpec | None = None
    #: anything else a kind needs to know about an entry (an embedder's similarity metric, an identifier's
    #: feature extractor, a sequence model's frame model), read by name
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_facelab(self) -> bool:
        return not self.baseline


class Registry(Mapping):
    """An ordered, read-only name -> :class:`ModelEntry` table of one model kind, with one default."""

    def __init__(self, kind: str, entries: list[ModelEntry], default: str):
        self.kind = kind
        self._entries = {e.name: e for e in entries}
        if len(self._entries) != len(entries):
            raise ValueError(f"duplicate {kind} names in {[e.name for e in entries]}")
        if default not in self._entries:
            raise ValueError(f"default {kind} {default!r} is not registered")
        self.default = default

    def __getitem__(self, name: str) -> ModelEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise FacelabError(f"unknown {self.kind} {name!r}; known: {', '.join(self._entries)}") from None

    def __contains__(self, name) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self, baseline: bool | None = None) -> list[str]:
        """Every name in registry order; ``baseline=False``: facelab's own models only, ``True``: baselines only."""
        return [n for n, e in self._entries.items() if baseline is None or e.baseline == baseline]

    def create(self, name: str | None = None, **kw):
        """A ready model by name (the default when ``name`` is None); keywords go to the entry's factory."""
        entry = self[name or self.default]
        return entry.factory(**kw)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._entries)}, default={self.default!r})"
