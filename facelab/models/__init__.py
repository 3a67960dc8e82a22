"""Bottom layer shared by every stage: model registries (:mod:`.registry`), the Keras runtime (:mod:`.runtime`:
one inference cache, one precision policy), training callbacks (:mod:`.training`: one keep-best mechanism, one
learning-rate curve), weights I/O (:mod:`.weights`: one location, one loader with clear errors), input crops
(:mod:`.inputs`) and the network pieces two stages share (:mod:`.embedding_net`).

Nothing here imports a stage, the pipeline, bench, report or the CLI; Keras and TensorFlow are imported lazily.
"""
from .registry import InputSpec, ModelEntry, Registry

__all__ = ["InputSpec", "ModelEntry", "Registry"]
