# Two commands do everything on a fresh machine with Python >= 3.11:
#   make run   venv, install, migrate, seed demo data, start API + worker + beat + sandbox
#   make test  the same set-up, then lint and the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint fmt migrate bench faults chaos clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 needed"'
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/sipoke run

migrate: install
	$(BIN)/sipoke migrate

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# pytest exits 5 when it collected nothing (a typo in PYTEST_ARGS): that is a failure too.
test: install lint
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

# Benchmarks (bench/README.md): own throw-away PostgreSQL database and Redis db number,
# loopback only, bounded; writes bench/results/latest.{json,md}. Needs PostgreSQL and Redis.
bench: install
	@command -v wrk >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get install -y -q wrk >/dev/null 2>&1; } || \
		echo "make bench: wrk not installed; the Python load generator is slower" >&2
	timeout 600 $(BIN)/python -m bench

# Chaos run (README "Chaos run"): ~1,000 deliveries through the real processes while workers,
# API processes, Redis, PostgreSQL and the sandbox are killed or paused on a seeded schedule;
# own PostgreSQL and Redis on spare ports. Prints the seed and the invariant table; replay
# with CHAOS_SEED=N make chaos. Needs the PostgreSQL server binaries and redis-server.
chaos: install
	timeout 900 $(BIN)/python -m chaos

# Fault-injection tests (tests/faults, slow ones included; they start their own Redis and
# PostgreSQL to kill) and the authorization matrix (tests/authz). `make test` runs the fast
# fault tests only.
faults: install
	@SIPOKE_FAULTS_SLOW=1 $(BIN)/python -m pytest tests/faults tests/authz -p no:cacheprovider \
		$(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make faults: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

fmt: install
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
