# Two commands a newcomer needs: `make run` and `make test`. Both build .venv first.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench check clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	HOTLINE_CONFIG=$${HOTLINE_CONFIG:-config/rotation.yaml} \
	  $(BIN)/hotline run --host 127.0.0.1 --port $${PORT:-5000}

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/hotline check config/rotation.yaml

bench: $(STAMP)
	$(BIN)/python bench/oncall.py

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
