"""Stage 4/5 (expression, emotion): mapping, simulated sequences, shapes, CSV evaluation, CLI, shipped weights."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from facelab.affect import mapping
from facelab.affect.sequences import FRAME_DROPPED, make_sequences
from facelab.data import FER_LABELS, load_fer2013
from facelab.errors import BadInputError

SAMPLE_CSV = Path(__file__).resolve().parents[1] / "datasets" / "fer2013" / "fer2013_sample_official.csv"
WEIGHTS = Path(__file__).resolve().parents[1] / "facelab" / "weights"


@pytest.fixture(scope="module")
def fer(data_home):
    return load_fer2013()


@pytest.fixture(scope="module")
def sample_csv(data_home):
    from facelab.config import data_home

    path = data_home() / "fer2013" / "fer2013_sample_official.csv"
    if not path.exists():
        pytest.skip(f"{path} missing")
    return path


# ---------------------------------------------------------------- mapping
def test_mapping_table_is_complete_and_documented():
    assert set(mapping.AFFECT_MAP) == set(FER_LABELS)
    expected = {"angry": ("negative", "high"), "disgust": ("negative", "low"), "fear": ("negative", "high"),
                "happy": ("positive", "high"), "sad": ("negative", "low"), "surprise": ("neutral", "high"),
                "neutral": ("neutral", "low")}
    assert mapping.AFFECT_MAP == expected
    v, a = mapping.expression_to_affect([FER_LABELS.index("happy"), FER_LABELS.index("sad")])
    assert [mapping.VALENCE_LABELS[i] for i in v] == ["positive", "negative"]
    assert [mapping.AROUSAL_LABELS[i] for i in a] == ["high", "low"]
    assert "Russell" in mapping.__doc__ and "1980" in mapping.CITATION
    assert [r["expression"] for r in mapping.table()] == FER_LABELS


def test_proba_to_affect_sums_the_classes():
    p = np.eye(7)
    v, a = mapping.proba_to_affect(p)
    assert np.allclose(v.sum(1), 1) and np.allclose(a.sum(1), 1)
    assert (v.argmax(1) == mapping.VALENCE_OF).all() and (a.argmax(1) == mapping.AROUSAL_OF).all()


def test_sequence_affect_rule():
    H, S, N, A = (FER_LABELS.index(k) for k in ("happy", "sad", "neutral", "angry"))
    assert mapping.sequence_affect([H], [3]) == (2, 1)
    assert mapping.sequence_affect([H, S], [4, 4]) == (1, 1)  # mean valence 0 → neutral; arousal 0.5 → high
    assert mapping.sequence_affect([S, A, H], [5, 2, 1]) == (0, 0)  # mean valence -0.75, arousal 3/8
    assert mapping.sequence_affect([N], [5]) == (1, 0)


# ---------------------------------------------------------------- sequences
def test_generator_is_deterministic_and_varied(fer):
    a = make_sequences(fer["val"], 12, "expression", nuisance=0.7, seed=3)
    b = make_sequences(fer["val"], 12, "expression", nuisance=0.7, seed=3)
    c = make_sequences(fer["val"], 12, "expression", nuisance=0.7, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))
    assert a.expression == b.expression and a.sources == b.sources
    assert a.sources != c.sources
    assert all(8 <= len(f) <= 24 and f.shape[1:] == (48, 48) and f.dtype == np.uint8 for f in a.frames)
    assert len(set(a.lengths.tolist())) > 1
    for f, k in zip(a.frames, a.kinds):
        assert len(k) == len(f)
    clean = make_sequences(fer["val"], 5, "expression", nuisance=0.0, seed=3)
    assert not any((k == FRAME_DROPPED).any() for k in clean.kinds)
    # clean frames are the FER faces themselves
    assert all(any(np.array_equal(fr, fer["val"].x[i]) for i in src) for f, src in zip(clean.frames, clean.sources)
               for fr in f)


def test_expression_sequence_label_matches_its_apex_faces(fer):
    s = make_sequences(fer["val"], 20, "expression", nuisance=0.0, seed=5)
    for lab, src in zip(s.expression, s.sources):
        labels = set(fer["val"].y[src].tolist())
        assert lab in labels and labels <= {lab, FER_LABELS.index("neutral")}


def test_emotion_sequences_follow_the_rule(fer):
    s = make_sequences(fer["val"], 30, "emotion", nuisance=0.3, seed=6)
    assert any(len(seg) > 1 for seg in s.segments)
    for seg, v, a in zip(s.segments, s.valence, s.arousal):
        labels, weights = zip(*seg)
        assert (v, a) == mapping.sequence_affect(labels, weights)


def test_training_sequences_never_use_a_publictest_face(fer):
    from facelab.affect.seqmodels import fer_sequence_splits

    train, val = fer_sequence_splits(fer)
    assert len(train) == len(fer["train"]) - 351  # the Training images that copy a PublicTest image are gone
    val_bytes = {v.tobytes() for v in val.x}
    seqs = make_sequences(train, 60, "emotion", nuisance=0.5, seed=7)
    used = sorted({i for src in seqs.sources for i in src})
    assert all(str(i).startswith("Training") for i in train.ids[used])
    assert not any(train.x[i].tobytes() in val_bytes for i in used)


# ---------------------------------------------------------------- shapes
def test_compiled_inference_matches_eager_for_any_batch_size():
    from facelab.affect.expression import build_expression_cnn, predict_proba

    cnn = build_expression_cnn(widths=(4, 4, 4, 8))
    x = np.random.default_rng(0).integers(0, 256, (7, 48, 48, 1)).astype(np.uint8)
    eager = np.asarray(cnn(x.astype(np.float32), training=False))
    f32 = dict(precision="float32")
    np.testing.assert_allclose(predict_proba(cnn, x, batch_size=3, **f32), eager, atol=1e-5)  # batches 3, 3, 1: one graph
    np.testing.assert_allclose(predict_proba(cnn, x[:1], **f32), eager[:1], atol=1e-5)


def test_inference_precision_follows_the_cpu_and_the_environment(monkeypatch):
    from facelab.models import runtime as expression

    monkeypatch.delenv("FACELAB_PRECISION", raising=False)
    monkeypatch.setattr(expression, "cpu_has_bf16", lambda: True)
    assert expression.inference_precision() == "mixed_bfloat16"
    monkeypatch.setattr(expression, "cpu_has_bf16", lambda: False)  # emulated bfloat16 would be slower
    assert expression.inference_precision() == "float32"
    monkeypatch.setattr(expression, "cpu_has_bf16", lambda: True)
    monkeypatch.setenv("FACELAB_PRECISION", "float32")
    assert expression.inference_precision() == "float32"
    assert expression.inference_precision("mixed_bfloat16") == "mixed_bfloat16"  # an argument beats the environment
    monkeypatch.setenv("FACELAB_PRECISION", "half")
    with pytest.raises(ValueError, match="half"):
        expression.inference_precision()


def test_bfloat16_inference_copy_keeps_float32_outputs_and_follows_the_weights():
    from facelab.affect.expression import build_expression_cnn, predict_proba
    from facelab.models.runtime import inference_net

    cnn = build_expression_cnn(widths=(4, 4, 4, 8))
    x = np.random.default_rng(0).integers(0, 256, (6, 48, 48, 1)).astype(np.uint8)
    net = inference_net(cnn, "mixed_bfloat16")
    assert net is not cnn and inference_net(cnn, "mixed_bfloat16") is net  # one cached copy per model
    assert inference_net(cnn, "float32") is cnn
    assert net.get_layer("b0_conv0").compute_dtype == "bfloat16"
    assert net.get_layer("expression").compute_dtype == "float32"  # probabilities stay float32, as in training
    bf16 = predict_proba(cnn, x, precision="mixed_bfloat16")
    assert bf16.dtype == np.float32
    np.testing.assert_allclose(bf16, predict_proba(cnn, x, precision="float32"), atol=0.05)  # bf16 rounding only
    head = cnn.get_layer("expression")
    kernel, bias = head.get_weights()
    head.set_weights([np.zeros_like(kernel), np.log([1, 1, 1, 8, 1, 1, 1]).astype(np.float32)])
    # the copy takes the model's weights at each call (training and batch-norm recalibration change them)
    np.testing.assert_allclose(predict_proba(cnn, x, precision="mixed_bfloat16"), np.tile([1, 1, 1, 8, 1, 1, 1], (6, 1)) / 14,
                               atol=1e-3)


def test_compiled_inference_cache_lets_models_go():
    import gc
    import weakref

    from facelab.affect.expression import build_expression_cnn, predict_proba

    cnn = build_expression_cnn(widths=(4, 4, 4, 8))
    predict_proba(cnn, np.zeros((2, 48, 48, 1), np.uint8), precision="float32")
    predict_proba(cnn, np.zeros((2, 48, 48, 1), np.uint8), precision="mixed_bfloat16")  # and its bfloat16 copy
    ref = weakref.ref(cnn)
    del cnn
    gc.collect()
    assert ref() is None  # notebooks build many models: the graph cache must not keep them in memory


def test_bfloat16_training_ships_a_float32_net():
    import keras

    from facelab.affect.expression import build_expression_cnn
    from facelab.models.runtime import dtype_policy, rebuilt

    with dtype_policy("mixed_bfloat16"):
        mixed = build_expression_cnn(widths=(4, 4, 4, 8))  # not the default net: the copy follows its config
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    assert mixed.get_layer("b0_conv0").compute_dtype == "bfloat16"
    assert mixed.output.dtype == "float32"  # the softmax stays float32 under the mixed policy
    plain = rebuilt(mixed, float32=True)
    assert {layer.dtype_policy.name for layer in plain.layers} == {"float32"}
    assert {layer.dtype_policy.name for layer in plain.get_layer("augment").layers} == {"float32"}  # nested too
    assert [w.shape for w in plain.weights] == [w.shape for w in mixed.weights]
    for a, b in zip(mixed.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)  # mixed-policy variables are float32: the copy is exact
    x = np.random.default_rng(0).integers(0, 256, (5, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(plain(x, training=False), mixed(x, training=False), atol=0.05)  # bf16 rounding only
    with pytest.raises(RuntimeError), dtype_policy("mixed_bfloat16"):
        raise RuntimeError
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after an error too


def test_learning_rate_schedule_by_steps_and_by_clock(fer, monkeypatch):
    import keras

    from facelab.affect.expression import build_expression_cnn
    from facelab.affect.training import train_cnn
    from facelab.models import training
    from facelab.models.training import warmup_cosine_lr

    lrs = [warmup_cosine_lr(f, 2e-3) for f in np.linspace(0, 1, 101)]
    assert lrs[0] == pytest.approx(2e-4) and lrs[5] == pytest.approx(2e-3) and lrs[-1] == pytest.approx(0, abs=1e-12)
    assert np.all(np.diff(lrs[:6]) > 0) and np.all(np.diff(lrs[5:]) < 0)  # warm-up, then cosine decay
    assert warmup_cosine_lr(3.0, 2e-3) == 0  # past the budget
    x, y = fer["train"].x[:256, ..., None], fer["train"].y[:256]
    seen = []

    class RecordLR(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    model = build_expression_cnn(widths=(4, 4, 4, 8))
    train_cnn(model, x, y, x[:64], y[:64], epochs=2, batch_size=64, verbose=0, extra_callbacks=[RecordLR()])
    steps = 2 * 4  # 256 faces in batches of 64, two epochs: the schedule runs over the steps
    np.testing.assert_allclose(seen, [warmup_cosine_lr(k / steps, 2e-3) for k in range(steps)], rtol=1e-5)
    # AdamW by default, decaying conv and dense kernels only (Keras has no public query for the exclusions)
    decayed = {v.path.split("/")[-1] for v in model.trainable_variables if model.optimizer._use_weight_decay(v)}
    assert isinstance(model.optimizer, keras.optimizers.AdamW) and decayed == {"kernel"}
    model = build_expression_cnn(widths=(4, 4, 4, 8))
    ticks = iter(range(10_000))  # a clock that advances one second per reading: no dependence on the machine's speed
    monkeypatch.setattr(training.time, "perf_counter", lambda: float(next(ticks)))
    seen.clear()
    hist = train_cnn(model, x, y, x[:64], y[:64], epochs=1000, batch_size=64, verbose=0, time_budget_s=6.0,
                     weight_decay=0, extra_callbacks=[RecordLR()])
    # one second a batch (the first reading starts the clock): 4 batches an epoch, the 6-second budget is spent at
    # the 6th batch, in the second epoch, which Keras ends there
    assert len(hist["loss"]) == 2 and len(seen) == 6
    np.testing.assert_allclose(seen, [warmup_cosine_lr((k + 1) / 6, 2e-3) for k in range(6)], rtol=1e-5, atol=1e-12)
    monkeypatch.undo()
    assert type(model.optimizer) is keras.optimizers.Adam  # weight_decay=0: plain Adam
    model = build_expression_cnn(widths=(4, 4, 4, 8))
    train_cnn(model, x, y, x[:64], y[:64], epochs=1, batch_size=64, verbose=0, optimizer="sgd", lr=0.1,
              weight_decay=5e-3)
    decayed = {v.path.split("/")[-1] for v in model.trainable_variables if model.optimizer._use_weight_decay(v)}
    assert isinstance(model.optimizer, keras.optimizers.SGD) and model.optimizer.nesterov and decayed == {"kernel"}
    with pytest.raises(ValueError, match="optimizer must be one of"):
        train_cnn(model, x, y, x[:64], y[:64], epochs=1, optimizer="rmsprop")


def test_model_shapes():
    from facelab.affect.emotion import build_affect_rnn, build_emotion_cnn
    from facelab.affect.expression import build_expression_cnn, build_sequence_model, feature_extractor

    cnn = build_expression_cnn()
    assert cnn.output_shape == (None, 7) and cnn.input_shape == (None, 48, 48, 1)
    assert cnn.count_params() < 2_000_000  # compact: the shipped .keras file stays under 6 MB
    feats = feature_extractor(cnn)
    d = feats.output_shape[-1]
    x = np.zeros((2, 48, 48, 1), np.uint8)
    assert np.asarray(feats(x)).shape == (2, d)
    emo = build_emotion_cnn(cnn)
    v, a = emo(x)
    assert v.shape == (2, 3) and a.shape == (2, 2)
    lstm = build_sequence_model(d, cell="lstm")
    assert np.asarray(lstm(np.ones((3, 24, d), np.float32))).shape == (3, 7)
    v, a = build_affect_rnn(d)(np.ones((3, 10, d), np.float32))
    assert v.shape == (3, 3) and a.shape == (3, 2)


def test_block_dropout_sits_between_blocks_only_when_asked():
    import keras

    from facelab.affect.expression import build_expression_cnn
    from facelab.affect.training import _block_dropout_of

    def rates(model):
        return {layer.name: layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)}

    older = build_expression_cnn(widths=(4, 4, 4, 8), block_dropout=0.1)  # the shipped recipe
    assert rates(older) == pytest.approx({"b1_drop": 0.1, "b2_drop": 0.2, "b3_drop": 0.3, "head_drop": 0.4})
    plain = build_expression_cnn(widths=(4, 4, 4, 8), block_dropout=0)
    assert rates(plain) == {"head_drop": 0.4}  # only after the last batch norm
    assert (_block_dropout_of(older), _block_dropout_of(plain)) == (0.1, 0.0)  # what the history records


def test_history_recipe_reads_older_histories_as_their_recipe():
    from facelab.affect.training import OPTIMIZERS, history_recipe, optimizer_settings

    assert history_recipe({"lr": 2e-3}) == {"optimizer": "adam", "weight_decay": 0.0, "block_dropout": 0.1, "seed": 42}
    assert (history_recipe({"weight_decay": 0.1, "block_dropout": 0.0, "seed": 43})
            == {"optimizer": "adam", "weight_decay": 0.1, "block_dropout": 0.0, "seed": 43})
    assert history_recipe({"optimizer": "sgd", "weight_decay": 5e-3})["optimizer"] == "sgd"
    # the per-optimiser defaults train_cnn and train_expression_cnn fill in; values given are kept
    assert optimizer_settings("sgd") == OPTIMIZERS["sgd"] and optimizer_settings("adam", 1e-3, 0) == (1e-3, 0)


# ---------------------------------------------------------------- shipped weights
@pytest.fixture(scope="module")
def shipped_cnn():
    from facelab.models.weights import load_keras

    return load_keras("affect_expression_cnn")


def test_shipped_weights_exist_with_cards():
    for name in ("affect_expression_cnn", "affect_expression_lstm", "affect_emotion_cnn", "affect_emotion_gru"):
        assert (WEIGHTS / f"{name}.keras").stat().st_size < 6_000_000
        with zipfile.ZipFile(WEIGHTS / f"{name}.keras") as archive:  # inference files: saved uncompiled,
            assert not json.loads(archive.read("config.json")).get("compile_config")  # so no optimizer state
        assert (WEIGHTS / f"{name}.md").is_file()  # its retrain command: tests/test_architecture.py


def test_shipped_cnn_labels_real_fer_faces(fer, shipped_cnn):
    from facelab.affect.expression import predict_proba

    val = fer["val"]
    happy = val.x[val.y == FER_LABELS.index("happy")][:60]
    p = predict_proba(shipped_cnn, happy)
    assert p.shape == (60, 7) and np.allclose(p.sum(1), 1, atol=1e-4)
    assert (p.argmax(1) == FER_LABELS.index("happy")).mean() > 0.7
    idx = np.random.default_rng(0).choice(len(val), 300, replace=False)
    acc = (predict_proba(shipped_cnn, val.x[idx]).argmax(1) == val.y[idx]).mean()
    assert acc > 0.45  # 7 classes, majority class ~25 %


# ---------------------------------------------------------------- CSV evaluation
def test_eval_on_the_official_csv_layout(sample_csv):
    from facelab.affect.evaluation import evaluate_csv

    rep = evaluate_csv(sample_csv, models=["cnn", "majority"])
    assert rep["usage"] == "PublicTest" and rep["n"] == 60
    for m in rep["models"].values():
        cm = np.array(m["confusion_matrix"])
        assert cm.shape == (7, 7) and cm.sum() == 60
        assert abs(np.trace(cm) / 60 - m["accuracy"]) < 1e-9
        assert set(m["per_class_recall"]) == set(FER_LABELS)
    assert rep["models"]["majority"]["accuracy"] < rep["models"]["cnn"]["accuracy"]
    emo = evaluate_csv(sample_csv, usage="Training", models=["cnn", "expression-cnn"], target="emotion")
    assert emo["n"] == 140
    assert np.array(emo["models"]["cnn"]["valence"]["confusion_matrix"]).shape == (3, 3)
    assert np.array(emo["models"]["expression-cnn"]["arousal"]["confusion_matrix"]).shape == (2, 2)


def test_eval_bad_csv_names_the_file(tmp_path):
    from facelab.affect.evaluation import evaluate_csv

    bad = tmp_path / "bad.csv"
    bad.write_text("emotion,pixels,Usage\n3,1 2 3,PublicTest\n")
    with pytest.raises(BadInputError, match="bad.csv"):
        evaluate_csv(bad)


# ---------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def face_files(fer, tmp_path_factory):
    d = tmp_path_factory.mktemp("faces")
    paths = []
    val = fer["val"]
    for k, i in enumerate(np.flatnonzero(val.y == FER_LABELS.index("happy"))[:3]):
        p = d / f"happy{k}.png"
        cv2.imwrite(str(p), val.x[i])
        paths.append(str(p))
    bad = d / "broken.jpg"
    bad.write_bytes(b"not an image at all")
    return paths, str(bad)


def _run(capsys, argv):
    from facelab.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_expression_json_and_bad_input(capsys, face_files):
    faces, bad = face_files
    code, out, _ = _run(capsys, ["expression", "--crop", "--json", faces[0], bad, faces[1]])
    assert code == 1
    res = json.loads(out)
    assert [r["image"] for r in res] == [faces[0], bad, faces[1]]
    assert "broken.jpg" in res[1]["error"]
    for r in (res[0], res[2]):
        (face,) = r["faces"]
        assert face["box"] == [0.0, 0.0, 48.0, 48.0]
        assert set(face["scores"]) == set(FER_LABELS) and face["expression"] in FER_LABELS


def test_cli_emotion_and_sequences(capsys, face_files):
    faces, _ = face_files
    code, out, _ = _run(capsys, ["emotion", "--crop", "--json", faces[0]])
    assert code == 0
    (face,) = json.loads(out)[0]["faces"]
    assert face["valence"] in mapping.VALENCE_LABELS and face["arousal"] in mapping.AROUSAL_LABELS
    assert set(face["scores"]["valence"]) == set(mapping.VALENCE_LABELS)
    code, out, _ = _run(capsys, ["expression", "--model", "lstm", "--crop", "--json", *faces])
    res = json.loads(out)
    assert code == 0 and res["frames_with_face"] == 3 and res["expression"] in FER_LABELS
    code, out, _ = _run(capsys, ["emotion", "--model", "gru", "--crop", "--json", *faces])
    res = json.loads(out)
    assert code == 0 and res["valence"] in mapping.VALENCE_LABELS and res["sequence"] == faces


def test_cli_missing_file_text_mode(capsys, tmp_path):
    code, _, err = _run(capsys, ["expression", "--crop", str(tmp_path / "nope.png")])
    assert code == 1 and "nope.png" in err


# ---------------------------------------------------------------- results of the quick notebooks (shared bench run)
def test_notebook_results(bench_run):
    res = bench_run["results"]
    for stage in ("expression", "emotion"):
        assert stage in res, f"notebook for {stage} did not write results"
        r = res[stage]
        from facelab.affect.baselines import deepface_emotion_unavailable

        if deepface_emotion_unavailable():  # found at run time: here its weights file is not in deepface's home
            assert any(u["model"] == "deepface emotion model" and "facial_expression_model_weights.h5" in u["reason"]
                       for u in r["unavailable"])
        assert any("SIMULATED" in n for n in r["notes"])
        assert "sequences_vs_nuisance" in r["tables"]
    m = {(x["model"], x["metric"]): x for x in res["expression"]["metrics"]}
    assert m[("expression CNN", "accuracy")]["split"] == "PublicTest"
    assert m[("expression CNN", "accuracy")]["value"] > m[("majority class", "accuracy")]["value"]
    e = {(x["model"], x["metric"]): x["value"] for x in res["emotion"]["metrics"]}
    assert e[("emotion CNN (two heads)", "valence_accuracy")] > e[("majority class", "valence_accuracy")]
