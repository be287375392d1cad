# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-ahead lint schema migrations bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --editable ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) server.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	env -u TEST_DATABASE_URL $(PY) -m pytest -q
	if [ -n "$$TEST_DATABASE_URL" ]; then $(PY) -m pytest -q; fi

# The suite with the clock 400 days ahead (Debian's faketime), as CI runs it.
test-ahead: lint
	env -u TEST_DATABASE_URL faketime -f '+400d' $(PY) -m pytest -q -p no:cacheprovider

schema: $(STAMP)
	$(VENV)/bin/strawberry export-schema schema:schema --output schema.graphql

migrations: $(STAMP)
	$(VENV)/bin/tortoise -c settings.TORTOISE_ORM makemigrations

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) data
