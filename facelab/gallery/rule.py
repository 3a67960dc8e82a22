"""The open-set rule: a similarity threshold and a logistic confidence, both taken from the embedding's model card.

The threshold is chosen at a target false-accept rate on a validation split and the
calibration is a logistic fit of P(same person | cosine similarity) on that split
(see :mod:`facelab.evaluation.openset`); the gallery only applies them.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .errors import GalleryError


@dataclass(frozen=True)
class OpenSetRule:
    """Accept ``similarity >= threshold``; ``P(same) = 1 / (1 + exp(-(slope * similarity + intercept)))``.

    ``model``/``version``, when given, bind the rule to the embedding it was calibrated for,
    so a rule from one model card is never applied to another model's similarities.
    ``far`` records the false-accept rate the threshold was chosen at (per comparison).
    """

    threshold: float
    slope: float
    intercept: float
    far: float | None = None
    model: str | None = None
    version: str | None = None
    #: ((per-comparison false-accept rate, threshold), ...) measured on the validation split, so that
    #: identification can keep ``far`` per *probe* whatever the gallery's size (:meth:`for_comparisons`)
    far_table: tuple = ()

    def __post_init__(self):
        for field in ("threshold", "slope", "intercept"):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise GalleryError(f"open-set rule: {field} must be a finite number, got {value!r}")
        if not -1.0 <= self.threshold <= 1.0:
            raise GalleryError(f"open-set rule: threshold {self.threshold} is not a cosine similarity in [-1, 1]")
        if self.slope <= 0:
            raise GalleryError(f"open-set rule: slope {self.slope} must be > 0 (confidence must grow with similarity)")

    def for_comparisons(self, n: int) -> "OpenSetRule":
        """The rule for a probe compared with ``n`` gallery embeddings and accepted on its best match.

        A stranger passes if any of the ``n`` comparisons does, so the per-probe false-accept rate is
        1 - (1 - f)^n for a per-comparison rate f: at ``threshold`` (chosen for one comparison at ``far``) a
        gallery of 96 people let 71 % of strangers through in notebook 07. With a ``far_table`` the threshold
        becomes the one whose per-comparison rate keeps ``far`` per probe: f = 1 - (1 - far)^(1/n), read off the
        table (log-linear between its rows; below its smallest measured rate, the strictest threshold it has).
        Without a table, or for one comparison, the rule is returned as it is."""
        if not self.far_table or not self.far or n <= 1:
            return self
        target = 1.0 - (1.0 - self.far) ** (1.0 / n)
        rows = sorted((float(f), float(t)) for f, t in self.far_table)  # rising rate, falling threshold
        if target <= rows[0][0]:
            threshold = rows[0][1]
        elif target >= rows[-1][0]:
            threshold = rows[-1][1]
        else:
            for (f0, t0), (f1, t1) in zip(rows, rows[1:]):
                if f0 <= target <= f1:
                    w = (math.log(target) - math.log(f0)) / (math.log(f1) - math.log(f0))
                    threshold = t0 + w * (t1 - t0)
                    break
        return OpenSetRule(threshold=max(self.threshold, threshold), slope=self.slope, intercept=self.intercept,
                           far=self.far, model=self.model, version=self.version, far_table=self.far_table)

    def same_probability(self, similarity: float) -> float:
        """Calibrated P(same person | similarity)."""
        z = self.slope * similarity + self.intercept
        # the two branches keep exp() from overflowing for large |z|
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def decide(self, similarity: float) -> tuple[bool, float]:
        """(accepted, confidence in that decision): P(same) when accepted, 1 - P(same) when rejected."""
        p_same = self.same_probability(similarity)
        accepted = similarity >= self.threshold
        return accepted, (p_same if accepted else 1.0 - p_same)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "OpenSetRule":
        """Read a rule stored as JSON (e.g. a model card's ``open_set`` block); unknown keys are an error."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise GalleryError(f"open-set rule: unknown keys {sorted(unknown)}")
        return cls(**{**data, "far_table": tuple(tuple(row) for row in data.get("far_table", ()))})


@dataclass(frozen=True)
class Decision:
    """The answer for one probe.

    ``name`` is the identified person, or None when the probe is unknown (below the threshold,
    or an empty gallery). ``candidate`` is the best-matching person even when rejected
    (None for an empty gallery), ``similarity`` its cosine similarity (None for an empty gallery),
    ``confidence`` the calibrated probability that this decision (known as ``name`` / unknown) is right.
    """

    name: str | None
    candidate: str | None
    similarity: float | None
    confidence: float

    @property
    def unknown(self) -> bool:
        return self.name is None

    def to_dict(self) -> dict:
        return {**asdict(self), "unknown": self.unknown}


@dataclass(frozen=True)
class Verification:
    """Are two embeddings the same person under the rule: ``same``, their cosine ``similarity``, ``confidence`` in ``same``."""

    same: bool
    similarity: float
    confidence: float

    def to_dict(self) -> dict:
        return asdict(self)
