"""The documented mapping from the 7 FER2013 expressions to affect: valence (3 classes) and arousal (2 classes).

FER2013 has expression labels only; facelab derives affect labels from them with
one fixed table, placed on Russell's circumplex model of affect:

    J. A. Russell, "A circumplex model of affect", Journal of Personality and
    Social Psychology 39(6):1161-1178, 1980.

Russell places emotion words on a circle whose horizontal axis is valence
(pleasure-displeasure) and vertical axis arousal (activation). The table reads
the quadrant of the nearest term of his 28-word scaling:

==========  =========  =======  ==============================================================
expression  valence    arousal  where it sits on the circumplex
==========  =========  =======  ==============================================================
angry       negative   high     "angry", "annoyed", "distressed": upper left
disgust     negative   low      not one of Russell's 28 terms; displeasure of moderate
                                activation, placed with "miserable"/"frustrated" below the
                                arousal midpoint (a convention, as the issue suggests; it is
                                1.5 % of FER2013, so the choice moves little)
fear        negative   high     "afraid", "alarmed", "tense": upper left, high activation
happy       positive   high     "happy", "delighted", "glad" lie right of the midpoint and
                                above the horizontal axis (Russell's "happy" ~ 8 deg)
sad         negative   low      "sad", "depressed", "gloomy", "miserable": lower left
surprise    neutral    high     "astonished"/"aroused" lie near the top of the arousal axis;
                                FER's surprise faces are both pleasant and unpleasant, so its
                                valence is neutral
neutral     neutral    low      the centre of the circle, no activation
==========  =========  =======  ==============================================================

Sequences that pass through several expressions get one affect label by
:func:`sequence_affect` (see that function; the notebooks quote it).
"""
from __future__ import annotations

import numpy as np

from ..data import FER_LABELS

VALENCE_LABELS = ["negative", "neutral", "positive"]
AROUSAL_LABELS = ["low", "high"]
CITATION = ('J. A. Russell, "A circumplex model of affect", Journal of Personality and Social Psychology '
            '39(6):1161-1178, 1980.')

#: expression name → (valence name, arousal name)
AFFECT_MAP = {
    "angry": ("negative", "high"),
    "disgust": ("negative", "low"),
    "fear": ("negative", "high"),
    "happy": ("positive", "high"),
    "sad": ("negative", "low"),
    "surprise": ("neutral", "high"),
    "neutral": ("neutral", "low"),
}

#: per FER label index 0..6: valence index (0 negative, 1 neutral, 2 positive) and arousal index (0 low, 1 high)
VALENCE_OF = np.array([VALENCE_LABELS.index(AFFECT_MAP[e][0]) for e in FER_LABELS])
AROUSAL_OF = np.array([AROUSAL_LABELS.index(AFFECT_MAP[e][1]) for e in FER_LABELS])


def expression_to_affect(labels) -> tuple[np.ndarray, np.ndarray]:
    """FER label indices (any shape) → (valence indices, arousal indices)."""
    labels = np.asarray(labels, dtype=np.int64)
    return VALENCE_OF[labels], AROUSAL_OF[labels]


def proba_to_affect(proba) -> tuple[np.ndarray, np.ndarray]:
    """7-class expression probabilities (N, 7) → valence (N, 3) and arousal (N, 2) probabilities, by summing the
    probabilities of the expressions each affect class collects (how a 7-class model, e.g. `fer`'s, is scored on affect)."""
    proba = np.asarray(proba, dtype=np.float64)
    val = np.stack([proba[:, VALENCE_OF == k].sum(1) for k in range(len(VALENCE_LABELS))], 1)
    aro = np.stack([proba[:, AROUSAL_OF == k].sum(1) for k in range(len(AROUSAL_LABELS))], 1)
    return val, aro


def table() -> list[dict]:
    """The mapping as rows, for notebooks and reports."""
    return [{"expression": e, "valence": AFFECT_MAP[e][0], "arousal": AFFECT_MAP[e][1]} for e in FER_LABELS]


def sequence_affect(labels, weights) -> tuple[int, int]:
    """The affect label of a sequence that passes through several expressions.

    Rule: each expressive segment (its apex expression ``labels[k]``) counts with
    ``weights[k]`` = its number of apex frames. Valence score = weighted mean of
    -1 / 0 / +1 (negative / neutral / positive); the sequence is *negative* below
    -1/3, *positive* above +1/3, *neutral* between. Arousal = weighted mean of 0 / 1
    (low / high); *high* at 0.5 or above. Neutral filler frames between segments do
    not count (a neutral segment, i.e. a neutral apex, does).
    """
    labels = np.asarray(labels, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    v = float((w * (VALENCE_OF[labels] - 1)).sum())
    a = float((w * AROUSAL_OF[labels]).sum())
    valence = 0 if v < -1 / 3 else (2 if v > 1 / 3 else 1)
    return valence, int(a >= 0.5)
