"""Where data and reports live, and the seeds every stage uses."""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

SEED = 42
#: the source checkout (holds datasets/, notebooks/, reports/ when facelab is installed editable)
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def data_home() -> Path:
    """Data home: $FACELAB_DATA, else ./datasets, else the checkout's datasets/."""
    env = os.environ.get("FACELAB_DATA")
    if env:
        return Path(env).expanduser().resolve()
    local = Path("datasets")
    if local.is_dir():
        return local.resolve()
    return PROJECT_ROOT / "datasets"


def reports_dir() -> Path:
    """Reports: $FACELAB_REPORTS, else the checkout's reports/."""
    env = os.environ.get("FACELAB_REPORTS")
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / "reports"


def results_dir() -> Path:
    """Results JSON files: $FACELAB_RESULTS (set by `facelab bench` while a notebook runs), else reports/results."""
    env = os.environ.get("FACELAB_RESULTS")
    return Path(env).expanduser().resolve() if env else reports_dir() / "results"


def notebooks_dir() -> Path:
    return PROJECT_ROOT / "notebooks"


def set_seeds(seed: int = SEED) -> None:
    """Seed Python, NumPy and (if imported) Keras/TensorFlow, so reruns match."""
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import keras

        keras.utils.set_random_seed(seed)
    except ImportError:  # Keras is optional for the data layer
        pass
