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

# Without Twilio credentials the router signs and checks with a local token, so the
# local simulator (and curl users) exercise the same signature check as production.
run: $(STAMP)
	@echo "Router on http://127.0.0.1:$${PORT:-5000}/health (SQLite in instance/, config/rotation.yaml)"
	HOTLINE_CONFIG=$${HOTLINE_CONFIG:-config/rotation.yaml} \
	TWILIO_AUTH_TOKEN=$${TWILIO_AUTH_TOKEN:-local-simulator-token} \
	  $(BIN)/hotline run --host 127.0.0.1 --port $${PORT:-5000}

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/hotline check config/rotation.yaml

bench: $(STAMP)
	$(BIN)/python bench/oncall.py

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
