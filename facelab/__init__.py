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
