# Every target sets up what it needs on a fresh machine with Python 3.11, pip and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup lock lint format test unit integration emulator demo bench docker-test qa fault-matrix clean

# Exactly what poetry.lock pins, hash-checked (requirements-dev.txt is exported from the lock;
# unit_tests/test_locked_requirements.py keeps them in step), then the package itself and the TIMIFY
# emulator (emulator/, a package of its own, standard library only) that the tests, demo and bench import.
$(STAMP): pyproject.toml emulator/pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip install --quiet --no-deps -e emulator
	touch $(STAMP)

setup: $(STAMP)

## After changing dependencies in pyproject.toml: update poetry.lock and the exported requirements.
lock:
	$(PYTHON) -m venv .venv-poetry
	.venv-poetry/bin/pip install --quiet "poetry==2.5.1" "poetry-plugin-export==1.10.1"
	.venv-poetry/bin/poetry lock
	.venv-poetry/bin/poetry export --format requirements.txt --output requirements.txt
	.venv-poetry/bin/poetry export --format requirements.txt --with dev --output requirements-dev.txt

## The formatter, the linter and the type checker, on the whole repository (CI runs it first).
lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

## Reformat and apply the linter's safe fixes.
format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## The test command (CI runs it): unit tests, emulator tests, integration tests against the emulator.
test: $(STAMP)
	$(PY) -m pytest -m "not slow and not image_tests" -p no:cacheprovider --timeout 900 -q unit_tests integration_tests emulator/tests

unit: $(STAMP)
	$(PY) -m pytest -q unit_tests

integration: $(STAMP)
	$(PY) -m pytest -q -m "not slow" integration_tests

## The TIMIFY emulator's own tests (emulator/README.md).
emulator: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider emulator/tests

## The main job: load every stream from the emulator into DuckDB with PyAirbyte, change data, sync again.
demo: $(STAMP)
	$(PY) demo/pyairbyte_demo.py

bench: $(STAMP)
	$(PY) bench/run_bench.py

docker-test: $(STAMP)
	bash scripts/docker_test.sh

qa:
	@test -f ../shared/tools/airbyte_qa.sh || { echo "make qa needs ../shared/tools/airbyte_qa.sh beside this checkout (see README.md, ../shared)"; exit 2; }
	bash ../shared/tools/airbyte_qa.sh "$(CURDIR)" --as-sl 300

fault-matrix: $(STAMP)
	$(PY) -m pytest -q -m slow integration_tests

clean:
	rm -rf $(VENV) .venv-poetry build dist *.egg-info
