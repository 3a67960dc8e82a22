"""The architecture, pinned: layers that only point down, one registry per model kind, a wheel that carries every
file the package loads, and shipped models whose CLI outputs match those recorded before the restructuring."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "facelab"

#: package (first part under facelab) -> layer; ``facelab/__init__.py`` and single modules count as their name
BOTTOM = {"config", "errors", "data", "preprocess", "models", "evaluation", "gallery", "__init__"}
MIDDLE = {"detection", "features", "recognition", "affect"}
TOP = {"pipeline", "bench", "report", "cli"}
#: the top layer's own arrows: the CLI sits on everything, bench renders the report after running the notebooks
TOP_MAY_IMPORT = {"cli": TOP, "bench": {"report"}, "pipeline": set(), "report": set()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path):
    """(line, imported facelab module) for every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("facelab"):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("facelab"):
                if target == "facelab":  # `from facelab import x`: x is a module, or a name of facelab/__init__
                    for alias in node.names:
                        is_module = (PKG / alias.name).is_dir() or (PKG / f"{alias.name}.py").is_file()
                        yield node.lineno, f"facelab.{alias.name}" if is_module else "facelab"
                else:
                    yield node.lineno, target


def layer_violations() -> list[str]:
    out = []
    for path in sorted(PKG.rglob("*.py")):
        src = _part(_module_name(path))
        for line, target in _imports(path):
            dst = _part(target)
            if dst == src:
                continue
            if src == "__init__" and dst == "pipeline":
                ok = True  # the package root's facade: facelab.analyze, imported on first use
            elif src in BOTTOM:
                ok = dst in BOTTOM
            elif src in MIDDLE:
                ok = dst in BOTTOM
            else:
                ok = dst in BOTTOM or (dst in MIDDLE and src in ("cli", "pipeline", "bench")) \
                    or dst in TOP_MAY_IMPORT[src]
            if not ok:
                out.append(f"{path.relative_to(ROOT)}:{line}: {src} imports {target} ({dst})")
    return out


@pytest.mark.unit
def test_imports_only_point_down():
    assert layer_violations() == []


@pytest.mark.unit
def test_the_import_check_sees_a_sideways_arrow(tmp_path, monkeypatch):
    """The walker itself: a stage importing another stage, and the bottom importing the CLI, are both reported."""
    pkg = tmp_path / "facelab"
    (pkg / "features").mkdir(parents=True)
    (pkg / "models").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "features" / "__init__.py").write_text("from ..recognition.svm import svm_identifier\n")
    (pkg / "models" / "x.py").write_text("import os\n\n\ndef f():\n    from ..cli import main\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PKG", pkg)
    found = layer_violations()
    assert found == ["facelab/features/__init__.py:1: features imports facelab.recognition.svm (recognition)",
                     "facelab/models/x.py:5: models imports facelab.cli (cli)"]


# ---------------------------------------------------------------- registries
def _registries():
    from facelab.affect import EMOTION_MODELS, EXPRESSION_MODELS
    from facelab.detection import DETECTORS
    from facelab.features import EMBEDDERS
    from facelab.pipeline.identification import IDENTIFIERS

    return {"detector": DETECTORS, "embedder": EMBEDDERS, "identifier": IDENTIFIERS,
            "expression model": EXPRESSION_MODELS, "emotion model": EMOTION_MODELS}


@pytest.mark.unit
@pytest.mark.parametrize("kind", ["detector", "embedder", "identifier", "expression model", "emotion model"])
def test_registry_entries_name_their_files_and_inputs(kind):
    from facelab.config import WEIGHTS_DIR
    from facelab.errors import FacelabError

    reg = _registries()[kind]
    assert reg.kind == kind and reg.default in reg and len(reg.names(baseline=False)) >= 1
    for name, entry in reg.items():
        assert entry.name == name and entry.description
        for f in entry.weights + ((entry.card,) if entry.card else ()):
            assert (WEIGHTS_DIR / f).is_file(), f"{kind} {name}: {f} missing from facelab/weights"
        if kind != "identifier":
            assert entry.inputs is not None and entry.inputs.colour in ("grey", "bgr")
    with pytest.raises(FacelabError, match=f"unknown {kind} 'nope'; known: "):
        reg["nope"]


def _cards():
    return sorted({(kind, e.card) for kind, reg in _registries().items() for e in reg.values() if e.card})


@pytest.mark.unit
@pytest.mark.parametrize("kind, card", _cards())
def test_every_model_card_retrains_with_a_command_the_cli_accepts(kind, card):
    """A card's retrain commands parse with today's CLI, and the one that writes the shipped file replaces it only by
    asking so (``--replace-shipped``)."""
    import re

    from facelab.cli import build_parser
    from facelab.config import WEIGHTS_DIR

    text = (WEIGHTS_DIR / card).read_text()
    commands = [re.sub(r"\s+#.*$", "", c).strip() for c in re.findall(r"(facelab train [^`\n]+)", text)]
    assert commands, f"{card}: no `facelab train ...` command"
    for command in commands:
        args = build_parser().parse_args(command.split()[1:])  # SystemExit on an unknown option or choice
        assert args.func is not None
    assert any("--replace-shipped" in c for c in commands), f"{card}: no retrain command replaces the shipped file"


@pytest.mark.unit
def test_cli_choices_are_the_registries():
    from facelab.cli import build_parser

    parser = build_parser()
    regs = _registries()

    def choices(*argv, option="--model"):
        sub = parser
        for a in argv:
            sub = next(act for act in sub._actions if act.__class__.__name__ == "_SubParsersAction").choices[a]
        return list(next(act for act in sub._actions if option in act.option_strings).choices)

    assert choices("detect") == regs["detector"].names()
    assert choices("embed", option="--detector") == regs["detector"].names()
    assert choices("expression", option="--detector") == regs["detector"].names()
    assert choices("expression") == regs["expression model"].names()
    assert choices("emotion") == regs["emotion model"].names()
    assert choices("eval", "verification") == regs["embedder"].names()


# ---------------------------------------------------------------- the wheel
@pytest.mark.unit
def test_the_wheel_carries_every_file_the_package_loads(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, cwd=tmp_path)
    wheel = next(tmp_path.glob("facelab-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "facelab"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    data_files = [f for f in tracked if not f.endswith(".py")]
    assert any(f.endswith("detection_cnn.json") for f in data_files)  # the file a broken wheel used to miss
    missing = [f for f in data_files if f not in names]
    assert missing == []
    assert {f for f in tracked if f.endswith(".py")} <= names


@pytest.mark.unit
def test_a_missing_detector_config_is_an_error_not_a_default(tmp_path):
    import shutil

    from facelab.config import WEIGHTS_DIR
    from facelab.detection.cnn import CNNDetector
    from facelab.errors import FacelabError

    for f in ("detection_cnn.keras", "detection_cnn_stage1.keras"):
        shutil.copy(WEIGHTS_DIR / f, tmp_path / f)
    with pytest.raises(FacelabError, match=r"detection_cnn\.json"):
        CNNDetector.load(tmp_path)


@pytest.mark.unit
@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04truncated"])
def test_a_truncated_or_foreign_keras_file_is_named(tmp_path, content):
    from facelab.errors import BadInputError
    from facelab.models.weights import load_keras

    bad = tmp_path / "net.keras"
    bad.write_bytes(content)
    with pytest.raises(BadInputError, match="net.keras"):
        load_keras(bad)


# ---------------------------------------------------------------- behaviour unchanged
BEFORE = json.loads((ROOT / "tests" / "fixtures" / "cli_behaviour_before_issue20.json").read_text())


def _numbers(case: str, output):
    """The model outputs of one recorded command, in order: boxes and scores, embeddings, class scores."""
    out = []
    if case.startswith("detect"):
        for item in output:
            for f in item["faces"]:
                out.append(f["box"] + [f["score"]])
    elif case.startswith("embed"):
        for item in output["items"]:
            out.append(item["embedding"])
    else:
        for item in output:
            for f in item["faces"]:
                s = f["scores"]
                out.append(list(s.values()) if "valence" not in s else list(s["valence"].values()) + list(s["arousal"].values()))
    return out


@pytest.mark.data
@pytest.mark.parametrize("case", [c["name"] for c in BEFORE["cases"]])
def test_shipped_models_give_the_outputs_recorded_before_the_restructuring(case, data_home, capsys):
    from facelab.cli import main
    from facelab.models.runtime import inference_precision

    recorded = next(c for c in BEFORE["cases"] if c["name"] == case)
    capsys.readouterr()
    assert main(recorded["args"] + [str(data_home / p) for p in recorded["images"]]) == 0
    now = json.loads(capsys.readouterr().out)
    before, after = _numbers(case, recorded["output"]), _numbers(case, now)
    assert len(before) == len(after) and len(after) > 0
    # the affect nets were recorded in bfloat16 on a CPU that has it; elsewhere they compute in float32
    tol = 0.02 if case.split("_")[0] in ("expression", "emotion") and inference_precision() == "float32" else 2e-3
    for b, a in zip(before, after):
        np.testing.assert_allclose(a, b, atol=tol, rtol=1e-4)


# ---------------------------------------------------------------- one profile, one output rule, one data home
@pytest.mark.unit
@pytest.mark.parametrize("stage", ["detection", "features", "expression", "emotion"])
def test_every_train_command_has_one_profile_default_and_never_replaces_shipped_weights_unasked(stage):
    from facelab.cli import build_parser
    from facelab.cli.output import training_out
    from facelab.config import DEFAULT_PROFILE, WEIGHTS_DIR, training_dir, training_file

    parser = build_parser()
    extra = ["--model", "cnn"]
    args = parser.parse_args(["train", stage, *extra])
    assert args.profile == DEFAULT_PROFILE == "quick"
    for profile in ("quick", "full"):
        out = training_out(parser.parse_args(["train", stage, *extra, "--profile", profile]))
        assert training_dir("m", profile, out) == Path("runs") / f"m_{profile}"
        assert training_file("m.keras", profile, out).parent != WEIGHTS_DIR
    assert training_out(parser.parse_args(["train", stage, *extra, "--replace-shipped"])) == WEIGHTS_DIR
    with pytest.raises(SystemExit):  # both at once is refused, not silently resolved
        parser.parse_args(["train", stage, *extra, "--replace-shipped", "--out", "x"])


@pytest.mark.unit
def test_the_data_home_rule(tmp_path, monkeypatch):
    from facelab import config

    monkeypatch.setenv("FACELAB_DATA", str(tmp_path))
    assert config.data_home_rule() == (tmp_path.resolve(), "$FACELAB_DATA")
    monkeypatch.delenv("FACELAB_DATA")
    fake_checkout = tmp_path / "work" / "repo"
    (fake_checkout / "datasets").mkdir(parents=True)
    monkeypatch.setattr(config, "PROJECT_ROOT", fake_checkout)
    monkeypatch.chdir(tmp_path)
    assert config.data_home_rule() == (fake_checkout / "datasets", "the checkout's datasets/ (default)")
    (tmp_path / "datasets" / "lfw").mkdir(parents=True)  # a user's own copy in the current folder
    assert config.data_home_rule() == ((tmp_path / "datasets").resolve(), "./datasets in the current folder")
    (tmp_path / "work" / "shared" / "datasets").mkdir(parents=True)  # this workplace's layout wins over both
    assert config.data_home_rule()[1] == "../shared/datasets beside the checkout"
