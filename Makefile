# Every target sets up what it needs on a fresh machine with Python 3.11, pip and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test unit integration demo bench docker-test qa fault-matrix clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e . "pytest>=8" "requests-mock>=1.12" "pytest-timeout>=2"
	touch $(STAMP)

setup: $(STAMP)

## The test command (CI runs it): unit tests, emulator tests, integration tests against the emulator.
test: $(STAMP)
	$(PY) -m pytest -m "not slow and not image_tests" -p no:cacheprovider --timeout 900 -q unit_tests integration_tests

unit: $(STAMP)
	$(PY) -m pytest -q unit_tests

integration: $(STAMP)
	$(PY) -m pytest -q -m "not slow" integration_tests

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
	rm -rf $(VENV) build dist *.egg-info
