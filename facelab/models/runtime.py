"""The Keras runtime every stage runs its networks through: one compiled-inference cache, one precision policy
(bfloat16 where the CPU multiplies it natively), one way to rebuild and save a model for inference.

Keras and TensorFlow are imported inside the functions, so importing this module costs nothing.
"""
from __future__ import annotations

import functools
import os
import weakref
from contextlib import contextmanager
from pathlib import Path

import numpy as np

_COMPILED = weakref.WeakKeyDictionary()
_BF16_COPIES = weakref.WeakKeyDictionary()


def compiled_forward(model):
    """``model(x, training=False)`` as one TensorFlow graph, traced once per model (any batch size, and any
    spatial size for a fully convolutional net).

    Keras 3 runs ``model(x)`` op by op in eager mode; in a graph TensorFlow's optimiser fuses each
    conv + batch norm + ReLU, which makes batch inference 1.5x to 2.5x faster on CPU, and eager dispatch costs
    more than the convolutions on a detector's small inputs. ``model.predict`` is compiled too but builds a data
    pipeline per call: slower for the CLI's few faces.
    """
    fn = _COMPILED.get(model)
    if fn is None:
        import tensorflow as tf

        # each model is traced once, with a signature of any batch (and spatial) size; TensorFlow's "frequent
        # retracing" warning counts those first traces of several models as retracing, so it says nothing here
        tf.get_logger().setLevel("ERROR")

        spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        ref = weakref.ref(model)  # the cached graph must not keep its model (the cache's key) alive
        call = tf.autograph.experimental.do_not_convert(lambda b: ref()(b, training=False))
        fn = _COMPILED[model] = tf.function(call, input_signature=[spec])
    return fn


def predict_batches(model, x, batch_size: int = 512, precision: str | None = None, pad_to: int | None = None):
    """``model`` on ``x`` in batches through :func:`compiled_forward`; a model with several outputs gives a list.

    ``precision``: see :func:`inference_precision` (``None``: ``$FACELAB_PRECISION``, else ``"auto"``).
    ``pad_to``: pad each batch with zeros to a multiple of this many items (stable shapes let oneDNN reuse its
    convolution plans; the detector's windows come in every count)."""
    x = np.asarray(x)
    net = inference_net(model, precision)
    if net is not model:  # the bfloat16 copy takes the weights as they are now (training changes them between calls)
        net.set_weights(model.get_weights())
    forward = compiled_forward(net)
    outs = []
    for i in range(0, len(x), batch_size):
        chunk = x[i:i + batch_size].astype(np.float32)
        n = len(chunk)
        if pad_to and n % pad_to:
            chunk = np.concatenate([chunk, np.zeros((pad_to - n % pad_to,) + chunk.shape[1:], np.float32)])
        out = forward(chunk)
        outs.append([o.numpy()[:n] for o in out] if isinstance(out, (list, tuple)) else out.numpy()[:n])
    if isinstance(outs[0], list):
        return [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]
    return np.concatenate(outs)


@functools.cache  # read once: inference_precision asks on every predict_batches call
def cpu_has_bf16() -> bool:
    """True where the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX): there Keras's ``mixed_bfloat16``
    policy trains the expression CNN 1.5x faster than float32 (91 vs 134 s per FER2013 epoch on this suite's
    2-core AMD EPYC); elsewhere bfloat16 is emulated and slower than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def inference_precision(precision: str | None = None) -> str:
    """The arithmetic inference runs in: ``"mixed_bfloat16"`` (bfloat16 maths, float32 weights and outputs) or
    ``"float32"``. ``None`` reads ``$FACELAB_PRECISION``; ``"auto"`` (its default) is bfloat16 where the CPU
    multiplies it natively (:func:`cpu_has_bf16`), else float32.

    Why bfloat16: on this suite's 2-core AMD EPYC (AVX512-BF16) it makes the expression CNN's batch inference
    1.7x faster (1,650 vs 940 faces/s) for a change of 1 face in 3,589 on PublicTest; the shipped affect nets were
    trained in bfloat16 maths anyway. ``FACELAB_PRECISION=float32`` gives float32 results on any machine. Models
    whose thresholds were calibrated in float32 (the detectors, the embeddings) ask for ``"float32"``."""
    precision = precision or os.environ.get("FACELAB_PRECISION") or "auto"
    if precision == "auto":
        return "mixed_bfloat16" if cpu_has_bf16() else "float32"
    if precision not in ("mixed_bfloat16", "float32"):
        raise ValueError(f"precision must be auto, mixed_bfloat16 or float32, not {precision!r}")
    return precision


def inference_net(model, precision: str | None = None):
    """``model``, or for bfloat16 inference a cached copy of it that computes in bfloat16 (see
    :func:`inference_precision`); the copy's output layers stay float32, as under ``mixed_bfloat16`` training.
    A model that computes in another dtype already (one being trained under ``mixed_bfloat16``) is used as it is."""
    if inference_precision(precision) == "float32" or getattr(model, "compute_dtype", "float32") != "float32":
        return model
    net = _BF16_COPIES.get(model)
    if net is None:
        config = model.get_config()
        outputs = config.get("output_layers", [])
        outputs = [outputs] if outputs and isinstance(outputs[0], str) else outputs  # one output: [name, node, index]
        config = policy_config(config, "mixed_bfloat16", keep_float32={name for name, *_ in outputs})
        net = _BF16_COPIES[model] = model.__class__.from_config(config)
    return net


@contextmanager
def dtype_policy(name: str):
    """Keras's global dtype policy set to ``name`` inside the block (restored after, also on error)."""
    import keras

    old = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(old)


def save_model(model, path) -> None:
    """Save for inference: an uncompiled copy (:func:`rebuilt`), without the optimizer's state (Adam's two slots
    per weight would triple the file)."""
    rebuilt(model).save(path)


def rebuilt(model, float32: bool = False):
    """An uncompiled copy of ``model`` with the same weights, rebuilt from its config (not
    ``keras.models.clone_model``: that one compiles the clone when the original is compiled, optimizer included).

    ``float32``: every layer in float32, whatever dtype policy the model was built under (what ships after
    ``mixed_bfloat16`` training, so that inference needs no bfloat16 hardware). Under a mixed policy the
    variables are float32 already (only the computation is bfloat16), so the copy is exact."""
    config = policy_config(model.get_config(), "float32") if float32 else model.get_config()
    copy = model.__class__.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def policy_config(node, policy: str, keep_float32=frozenset()):
    """A Keras config with every layer's dtype policy set to ``policy`` (for float32 also every bfloat16/float16
    input dtype), except the layers named in ``keep_float32``. Written here because Keras has no API to change a
    built model's policy; the config walk covers nested models (the augmentation block is a Sequential with its
    own input layer)."""
    if isinstance(node, list):
        return [policy_config(v, policy, keep_float32) for v in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("config"), dict) and node["config"].get("name") in keep_float32 and "class_name" in node:
        return node
    out = {}
    for key, value in node.items():
        if key == "dtype" and isinstance(value, dict) and value.get("class_name") == "DTypePolicy":
            value = {**value, "config": {**value["config"], "name": policy}}
        elif key == "dtype" and value in ("bfloat16", "float16") and policy == "float32":
            value = "float32"
        else:
            value = policy_config(value, policy, keep_float32)
        out[key] = value
    return out
