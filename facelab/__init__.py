"""facelab: teach and benchmark deep-learning face analysis (Keras 3, TensorFlow backend).

Stages: detection, features, identification, expression, emotion. Every stage
reads data through :mod:`facelab.data`, images through :mod:`facelab.preprocess`,
and writes its metrics through :mod:`facelab.bench.results`.
"""
import os as _os

# TensorFlow is loud; keep it quiet unless the user asked otherwise.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# One op at a time, each on all cores: TensorFlow's default runs several ops side by side, and on the 2 cores
# this suite is built for that trains the expression CNN about 20 % slower (199 against 228-254 faces/s,
# measured 2026-11-29); inference is unchanged. Read once, when TensorFlow starts: set it before importing facelab
# to override.
_os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

__version__ = "0.1.0"
