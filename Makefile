# Two commands do all the set-up on a fresh machine:
#   make demo   – create .venv, install, run the sandbox pipeline end to end
#   make test   – create .venv, install, lint and run the tests
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast test-heavy bench bench-recsys integration lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU build of torch first (a local wheel here); a looser pin pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/moodrec run --profile demo

# lint, the main suite (under 8 min on 2 quiet cores), then the few heavy tests as a second phase
test: test-fast test-heavy

test-fast: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python -m pytest -m "not heavy"

test-heavy: $(STAMP)
	$(BIN)/python -m pytest -m heavy

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
