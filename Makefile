# Two commands do all the set-up on a fresh machine:
#   make demo   – create .venv, install, run the sandbox pipeline end to end
#   make test   – create .venv, install, lint and run the tests
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast test-heavy lint-check bench bench-recsys integration lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU build of torch first (a local wheel here); a looser pin pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/moodrec run --profile demo

# lint, then the whole suite as ONE pytest session: the main suite first, the few heavy tests
# last (tests/conftest.py orders them), so the session's Prefect API, shared pipeline run and
# collection are paid once. `make test-fast` + `make test-heavy` run the same tests in two
# sessions (the main suite alone: under 8 min on 2 quiet cores).
test: lint-check
	$(BIN)/python -m pytest

test-fast: lint-check
	$(BIN)/python -m pytest -m "not heavy"

test-heavy: $(STAMP)
	$(BIN)/python -m pytest -m heavy

lint-check: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_ingest
	$(BIN)/python -m benchmarks.bench_genres
	$(BIN)/python -m benchmarks.bench_topics
	$(BIN)/python -m benchmarks.bench_enrich

# recommenders and sessions: HetRec protocol (~30 min on 2 busy cores), serving, scale, sessions
bench-recsys: $(STAMP)
	$(BIN)/python -m benchmarks.bench_hetrec
	$(BIN)/python -m benchmarks.bench_serving
	$(BIN)/python -m benchmarks.bench_recsys_scale
	$(BIN)/python -m benchmarks.bench_session

# the compose topology without Docker: Postgres + Prefect server + process worker + a run via the API
integration: $(STAMP)
	scripts/integration.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) data/demo data/tiny .pytest_cache .ruff_cache
