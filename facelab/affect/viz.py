"""Plots and interpretability helpers the expression and emotion notebooks share (matplotlib, Grad-CAM, saliency)."""
from __future__ import annotations

import numpy as np


def plot_confusion(cm, labels, ax=None, title: str = "", normalize: bool = True):
    """Confusion matrix (rows true, columns predicted); ``normalize`` shows row fractions (recall on the diagonal)."""
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, float)
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    ax = ax or plt.gca()
    ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{shown[i, j]:.2f}" if normalize else int(cm[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > 0.5 * shown.max() else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    return ax


def face_grid(faces, titles=None, cols: int = 8, size: float = 1.3, overlays=None, suptitle: str = ""):
    """A grid of 48x48 faces, optionally with heat-map ``overlays`` (same count, values in [0, 1])."""
    import matplotlib.pyplot as plt

    n = len(faces)
    rows = max(1, int(np.ceil(n / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size * 1.15), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k >= n:
            continue
        ax.imshow(np.asarray(faces[k]).squeeze(), cmap="gray", vmin=0, vmax=255)
        if overlays is not None:
            ax.imshow(overlays[k], cmap="jet", alpha=0.4, vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(titles[k], fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def grad_cam(model, faces, class_index=None, layer: str = "b3_relu1", output: int | None = None) -> np.ndarray:
    """Grad-CAM maps (N, 48, 48) in [0, 1] for ``class_index`` (default: the predicted class) at conv ``layer``.

    ``output``: for a multi-output model (the emotion CNN), which output (0 valence, 1 arousal).
    """
    import cv2
    import keras
    import tensorflow as tf

    sub = keras.Model(model.input, [model.get_layer(layer).output, model.output])
    x = tf.convert_to_tensor(np.asarray(faces, np.float32).reshape(-1, 48, 48, 1))
    with tf.GradientTape() as tape:
        conv, out = sub(x, training=False)
        if output is not None:
            out = out[output]
        idx = tf.argmax(out, 1) if class_index is None else tf.fill([tf.shape(out)[0]], int(class_index))
        score = tf.gather(out, idx, batch_dims=1)
    grads = tape.gradient(score, conv)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * conv, -1)).numpy()
    maps = []
    for c in cam:
        c = cv2.resize(c, (48, 48), interpolation=cv2.INTER_CUBIC)
        maps.append(np.clip(c / (c.max() + 1e-8), 0, 1))
    return np.stack(maps)


def saliency(model, faces, output: int | None = None) -> np.ndarray:
    """Vanilla gradient saliency |d score / d pixel| of the predicted class, (N, 48, 48) scaled to [0, 1]."""
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(faces, np.float32).reshape(-1, 48, 48, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = model(x, training=False)
        if output is not None:
            out = out[output]
        score = tf.reduce_max(out, 1)
    g = tf.abs(tape.gradient(score, x))[..., 0].numpy()
    g = np.stack([cv2_blur(m) for m in g])
    return g / (g.reshape(len(g), -1).max(1)[:, None, None] + 1e-8)


def cv2_blur(m):
    import cv2

    return cv2.GaussianBlur(m, (0, 0), 1.0)


def augment_examples(face, n: int = 8, seed: int = 0) -> np.ndarray:
    """``n`` random augmentations of one uint8 face by the CNN's own augmentation layers."""
    import keras

    from .expression import augmentation_layers

    keras.utils.set_random_seed(seed)
    aug = augmentation_layers()
    x = np.repeat(np.asarray(face, np.float32).reshape(1, 48, 48, 1) / 255.0, n, 0)
    return (np.clip(np.asarray(aug(x, training=True)), 0, 1) * 255).astype(np.uint8)[..., 0]


def plot_history(history: dict, ax=None, title: str = ""):
    """Training / validation accuracy per epoch from a Keras history dict."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    for key, style in (("accuracy", "-"), ("val_accuracy", "--")):
        if key in history:
            ax.plot(range(1, len(history[key]) + 1), history[key], style, marker="o", ms=3, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax
