# gscsim: `make demo` runs the main job on the shipped defaults, `make test` passes the tests.
# Both create .venv and install what they need on a fresh machine.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch for a fresh venv. 2.13.0 resolves to the local CPU wheel on the project's
# dev/CI machines and to the regular (CUDA) wheel from PyPI elsewhere. A venv that
# already has torch keeps it (e.g. a CUDA build): `make install VENV=/path/to/venv`.
TORCH_SPEC ?= torch==2.13.0
PIP := $(PY) -m pip install --disable-pip-version-check

.PHONY: install demo test test-fast bench gpu-check clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade setuptools wheel
	$(PY) -c "import torch" 2>/dev/null || $(PIP) "$(TORCH_SPEC)"
	$(PIP) -e ".[dev,ray,rl]"
	# pyldpc (benchmark reference) ships only an sdist whose setup imports numpy.
	$(PIP) --no-build-isolation "pyldpc==0.7.9"
	touch $@

demo: install
	$(VENV)/bin/gscsim sweep sims/configs/demo.toml --resume

test: install
	$(PY) -m pytest -q

# The suite without the heavy statistical validations (marked `slow`); CI runs `make test`.
test-fast: install
	$(PY) -m pytest -q -m "not slow"

bench: install
	$(VENV)/bin/gscsim bench all --device cpu --json results/bench/cpu.json

# On a machine with a CUDA GPU: the CUDA tests, then the suite on the GPU (JSON + plot).
gpu-check: install
	$(PY) -m pytest -q -m cuda -p no:cacheprovider
	$(VENV)/bin/gscsim bench all --device cuda --json results/bench/cuda.json

clean:
	rm -rf $(VENV) results
