"""Expression and emotion models on a FER2013 CSV in the official layout: the numbers `facelab eval expression|emotion`
prints, every model taken from the registries."""
from __future__ import annotations

from ..errors import FacelabError
from .registry import EMOTION_MODELS, EXPRESSION_MODELS


def _majority_label(splits) -> int:
    import numpy as np

    if "train" in splits:
        return int(np.bincount(splits["train"].y, minlength=7).argmax())
    return 3  # "happy": the most frequent class of the official FER2013 Training split (7,215 of 28,709)


def evaluate_csv(csv, usage=None, models=("cnn",), target: str = "expression", tta: bool = False) -> dict:
    """Metrics of each model on a CSV in the official FER2013 layout (the rows of ``usage``, default PublicTest
    when the file has such rows, else every row)."""
    import numpy as np

    from .mapping import AROUSAL_LABELS, VALENCE_LABELS, expression_to_affect, proba_to_affect
    from .metrics import classification_metrics
    from ..data import FER_LABELS, read_fer_csv

    allsplits = read_fer_csv(csv)
    if usage is None:
        usage = "PublicTest" if "val" in allsplits else None
    chosen = read_fer_csv(csv, usage=usage) if usage else allsplits
    x = np.concatenate([s.x for s in chosen.values()])[..., None]
    y = np.concatenate([s.y for s in chosen.values()])
    report = {"csv": str(csv), "usage": usage or "all rows", "n": int(len(y)), "target": target, "models": {}}
    for name in models:
        if name == "majority":
            p = np.zeros((len(y), 7))
            p[:, _majority_label(allsplits)] = 1
        elif target == "emotion" and name in EMOTION_MODELS:
            pv, pa = EMOTION_MODELS.create(name, tta=tta).predict_affect(x)
            p = None
        elif name.removeprefix("expression-") in EXPRESSION_MODELS:  # emotion: 7-class models mapped to affect
            p = EXPRESSION_MODELS.create(name.removeprefix("expression-"), tta=tta).predict_proba(x)
        else:
            raise FacelabError(f"unknown model {name!r} for eval {target}")
        if target == "expression":
            report["models"][name] = classification_metrics(y, p.argmax(1), FER_LABELS)
        else:
            if p is not None:
                pv, pa = proba_to_affect(p)
            yv, ya = expression_to_affect(y)
            report["models"][name] = {"valence": classification_metrics(yv, pv.argmax(1), VALENCE_LABELS),
                                      "arousal": classification_metrics(ya, pa.argmax(1), AROUSAL_LABELS)}
    return report
