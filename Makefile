# Two commands a newcomer needs: `make run` and `make test`. Both build .venv first.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench bench-quick check clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# With Twilio credentials `make run` is one web process plus the clock process (text
# escalations, and its sender thread that sends every text), like the Procfile's web and
# clock lines; no separate `hotline sender` is needed. Without them (no
# TWILIO_ACCOUNT_SID) it starts the phone simulator too (docs/simulator.md), whose clock
# runs in-process: the router signs and checks with a local token, so the simulator (and
# curl users) exercise the same signature check as production, and its REST sends go to
# the simulator's fake Twilio API on the same port.
SIM_SID := AC00000000000000000000000000000000
run: $(STAMP)
	@# Half a set of credentials is a mistake, never a reason to sign with the public token.
	@if [ -n "$$TWILIO_ACCOUNT_SID" ] && [ -z "$$TWILIO_AUTH_TOKEN" ]; then \
	  echo "TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not: set both (a real line), or neither (the simulator)." >&2; exit 1; fi
	@if [ -z "$$TWILIO_ACCOUNT_SID" ] && [ -n "$$TWILIO_AUTH_TOKEN" ]; then \
	  echo "TWILIO_AUTH_TOKEN is set but TWILIO_ACCOUNT_SID is not: set both (a real line), or neither (the simulator)." >&2; exit 1; fi
	@$(BIN)/hotline db upgrade >/dev/null  # an instance/ database from older code: migrate it
	@port=$${PORT:-5000}; \
	if [ -n "$$TWILIO_ACCOUNT_SID" ]; then \
	  echo "Router on http://127.0.0.1:$$port/health with its clock (SQLite in instance/, $${HOTLINE_CONFIG:-config/rotation.yaml})"; \
	  export HOTLINE_CONFIG=$${HOTLINE_CONFIG:-config/rotation.yaml}; \
	  $(BIN)/hotline clock & clock=$$!; trap 'kill $$clock 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/hotline run --host 127.0.0.1 --port $$port; exit $$?; \
	fi; \
	echo ""; \
	echo "  No Twilio credentials: the router runs with the phone simulator."; \
	echo "  Open  http://127.0.0.1:$$port/simulator/  in your browser (Ctrl-C stops it)."; \
	echo "  SQLite in instance/, rotation $${HOTLINE_CONFIG:-config/rotation.yaml}. See docs/simulator.md."; \
	echo ""; \
	HOTLINE_SIMULATOR=1 \
	HOTLINE_CONFIG=$${HOTLINE_CONFIG:-config/rotation.yaml} \
	TWILIO_AUTH_TOKEN=$${TWILIO_AUTH_TOKEN:-local-simulator-token} \
	TWILIO_ACCOUNT_SID=$(SIM_SID) \
	TWILIO_API_BASE=http://127.0.0.1:$$port/simulator/api \
	HOTLINE_PUBLIC_URL=http://127.0.0.1:$$port \
	  exec $(BIN)/hotline run --host 127.0.0.1 --port $$port

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/hotline check config/rotation.yaml

# Benchmarks never fail the build: each prints PASS/MISS per target. Add BENCH_ARGS=--write
# to regenerate docs/benchmarks.md. The load and fault runs need PostgreSQL on 127.0.0.1:5432
# (a private schema each) and, for bench/faults.py pg, root to run a private cluster.
bench: $(STAMP)
	$(BIN)/python bench/oncall.py $(BENCH_ARGS)
	$(BIN)/python bench/webhooks.py $(BENCH_ARGS)
	$(BIN)/python bench/burst.py $(BENCH_ARGS)
	$(BIN)/python bench/timers.py $(BENCH_ARGS)
	$(BIN)/python bench/faults.py all $(BENCH_ARGS)
	$(BIN)/python bench/fuzz.py $(BENCH_ARGS)

# A few minutes instead of about fifteen; smaller numbers, never written to the docs.
bench-quick: $(STAMP)
	$(BIN)/python bench/webhooks.py --seconds 3 --closed-seconds 3 --rates 50,100
	$(BIN)/python bench/burst.py --texts 200 --seconds 2 --rates 0
	$(BIN)/python bench/timers.py --conversations 100
	$(BIN)/python bench/fuzz.py --cases 1000

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
