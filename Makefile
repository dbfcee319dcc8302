# `make run` starts the daemon on SQLite, `make test` runs the tests, `make demo` shows the
# whole system on recorded responses. Each sets up its own virtualenv (.venv) on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-stamp

.PHONY: venv run lint test demo bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: venv
	test -f $${MONITOR_STORAGE:-storage}/model/classifier.npz || $(BIN)/monitor train
	$(BIN)/monitor run

# The architecture (import-linter contracts in pyproject.toml) and the lint come first.
lint: venv
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check monitor tests bench

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: venv
	$(BIN)/monitor demo

bench: venv
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
