# Two commands do everything on a fresh machine with Python >= 3.11:
#   make run   venv, install, migrate, seed demo data, start API + worker + beat + sandbox
#   make test  the same set-up, then lint and the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint fmt migrate bench faults clean

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

test: install lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

fmt: install
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
