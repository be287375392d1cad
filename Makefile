# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# What the suite needs from Debian besides Python: faketime (the clock moved ahead) and
# Chromium (the browser suite; Playwright cannot download its own browsers here); PostgreSQL's
# server programs (the read-replica tests start their own primary and streaming replica); the
# Noto fonts a certificate's holder name in any script is printed from (fonts-noto-cjk, -core).
TEST_TOOLS := $(VENV)/.test-tools-stamp

.PHONY: run test test-ahead lint schema migrations messages bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --editable ".[test]"
	touch $(STAMP)

$(TEST_TOOLS): $(STAMP)
	@missing=""; \
	command -v faketime >/dev/null 2>&1 || missing="$$missing faketime"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v zbarimg >/dev/null 2>&1 || missing="$$missing zbar-tools"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc || missing="$$missing fonts-noto-cjk"; \
	test -f /usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf || missing="$$missing fonts-noto-core"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing from Debian's packages"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "install$$missing (Debian packages) to run the whole suite" >&2; exit 1; \
	  fi; \
	fi
	touch $(TEST_TOOLS)

run: $(STAMP)
	$(PY) server.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# The import directions; no database involved (the PostgreSQL pass would deselect them).
	env -u TEST_DATABASE_URL $(PY) -m pytest -q tests/test_architecture.py

# The suite runs in parallel: one pytest-xdist worker per core, four at most, each with a session
# database of its own. A module runs whole on one worker, in its own order (--dist loadfile):
# some modules' tests build on state earlier tests left in the process (the plan differential's
# closing tally). TEST_WORKERS=0 runs it in this process alone.
TEST_WORKERS ?= auto
PYTEST := $(PY) -m pytest -q -n $(TEST_WORKERS) --maxprocesses=4 --dist loadfile

test: lint $(TEST_TOOLS)
	env -u TEST_DATABASE_URL $(PYTEST)
	if [ -n "$$TEST_DATABASE_URL" ]; then $(PYTEST); fi

# The suite with the clock 400 days ahead (Debian's faketime), as CI runs it.
test-ahead: lint $(TEST_TOOLS)
	@echo "--- the suite with the clock 400 days ahead: $$(faketime -f '+400d' date -u +%F)"
	# In one process, not in parallel: under faketime, a pytest-xdist worker once stalled
	# for good (its event loop idle in test_outbox_mail's wake-up test, reached after other
	# modules in that worker); the suite in one process has passed ahead every time.
	env -u TEST_DATABASE_URL faketime -f '+400d' $(PY) -m pytest -q -p no:cacheprovider

schema: $(STAMP)
	$(VENV)/bin/strawberry export-schema schema:schema --output schema.graphql

# Message catalogues (docs/translations.md): the texts marked N_/N_plural into the template,
# merged into each language's .po, compiled to the .mo files that are committed (so a checkout
# runs without this step; tests/test_messages_i18n.py fails when they are stale).
messages: $(STAMP)
	$(VENV)/bin/pybabel extract
	$(VENV)/bin/pybabel update
	$(VENV)/bin/pybabel compile

migrations: $(STAMP)
	$(VENV)/bin/tortoise -c settings.TORTOISE_ORM makemigrations

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) data
