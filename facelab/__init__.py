"""facelab: teach and benchmark deep-learning face analysis (Keras 3, TensorFlow backend).

Stages: detection, features, identification, expression, emotion. Every stage
reads data through :mod:`facelab.data`, images through :mod:`facelab.preprocess`,
and writes its metrics through :mod:`facelab.evaluation.results`.
"""
import os as _os

# TensorFlow is loud; keep it quiet unless the user asked otherwise.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"


def __getattr__(name):
    """``facelab.analyze(path_or_array)``: the application pipeline's one-call entry point, imported on first use
    (the package root is a facade: importing facelab loads no model code)."""
    if name in ("analyze", "FaceAnalyzer"):
        from .pipeline import analyzer

        return getattr(analyzer, name)
    raise AttributeError(f"module 'facelab' has no attribute {name!r}")
