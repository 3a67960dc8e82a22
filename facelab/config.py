"""Where data and reports live, and the seeds every stage uses."""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

SEED = 42
#: the source checkout (holds datasets/, notebooks/, reports/ when facelab is installed editable)
PROJECT_ROOT = Path(__file__).resolve().parents[1]


#: where a shipped model's weights live (package data)
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def data_home_rule() -> tuple[Path, str]:
    """(data home, the rule that chose it). The one rule, the same for `make`, a bare `facelab`, the notebooks and
    the tests, in this order:

    1. ``$FACELAB_DATA`` when set;
    2. ``../shared/datasets`` beside the checkout, when it exists (the layout of this project's workplace, where the
       data sets lie read-only beside the repository);
    3. ``./datasets`` in the current folder, when it holds a data set (a user's own copy);
    4. the checkout's ``datasets/`` (the data-set cards; ``facelab data fetch`` writes there).
    """
    env = os.environ.get("FACELAB_DATA")
    if env:
        return Path(env).expanduser().resolve(), "$FACELAB_DATA"
    shared = PROJECT_ROOT.parent / "shared" / "datasets"
    if shared.is_dir():
        return shared.resolve(), "../shared/datasets beside the checkout"
    local = Path("datasets").resolve()
    if local.is_dir() and local != (PROJECT_ROOT / "datasets").resolve() and any(p.is_dir() for p in local.iterdir()):
        return local, "./datasets in the current folder"
    return PROJECT_ROOT / "datasets", "the checkout's datasets/ (default)"


def data_home() -> Path:
    """The data home: see :func:`data_home_rule`."""
    return data_home_rule()[0]


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


#: the two profiles: quick = the workflow end to end in minutes on 2 CPU cores (tiny subsets, 1-2 epochs: what the
#: tests run), full = the published numbers and the shipped weights
PROFILES = ("quick", "full")
DEFAULT_PROFILE = "quick"


def check_profile(profile: str | None) -> str:
    """A profile name, the default when None; anything else is an error naming the choices."""
    profile = profile or DEFAULT_PROFILE
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {profile!r}")
    return profile


def training_dir(name: str, profile: str, out=None) -> Path:
    """The folder a training run of model ``name`` writes to: ``out`` when given (``facelab train ...
    --replace-shipped`` passes :data:`WEIGHTS_DIR`), else ``runs/<name>_<profile>/`` under the current folder,
    whatever the profile: a run never overwrites the shipped weights unless asked in so many words."""
    return Path(out) if out is not None else Path("runs") / f"{Path(name).stem}_{check_profile(profile)}"


def training_file(filename: str, profile: str, out=None) -> Path:
    """The file a training run writes: ``out`` itself when it names a file (has a suffix), else ``filename`` in
    :func:`training_dir`."""
    if out is not None and Path(out).suffix:
        return Path(out)
    return training_dir(filename, profile, out) / filename


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
