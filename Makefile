# NovaWeb: `make run` serves the app, `make test` runs every test. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
# uv from PATH, else a private copy under .tools/ (installed on first use).
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --locked --no-sync

.PHONY: run test test-unit test-e2e fakeprovider lint bench bench-conversation bench-sidebar bench-search install clean-db

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet
	@touch $@

install: .venv/.synced

run: install
	$(RUN) python -m novaweb.serve

# Browser tests run in their own pytest process: the sync Playwright API leaves an event loop behind
# that would break the async tests after it.
test: install
	$(RUN) pytest -m "not e2e" $(PYTEST_ARGS)
	$(RUN) pytest -m e2e tests/e2e $(PYTEST_ARGS)

test-unit: install
	$(RUN) pytest -m "not e2e" $(PYTEST_ARGS)

test-e2e: install
	$(RUN) pytest -m e2e tests/e2e $(PYTEST_ARGS)

fakeprovider: install
	$(RUN) python -m tests.fakeprovider --host 127.0.0.1 --port $${FAKE_PORT:-8001}

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) python manage.py makemigrations --check --dry-run

bench: install
	$(RUN) python bench/relay.py

# Opening a conversation of 5,000 messages: server time of the page (figures in docs/benchmarks.md).
bench-conversation: install
	$(RUN) python bench/conversation_open.py

# The sidebar with 50,000 conversations: server time of its pages (figures in docs/benchmarks.md).
bench-sidebar: install
	$(RUN) python bench/sidebar.py

# 1,000 searches over a million messages: latency and index sizes (figures in docs/benchmarks.md).
bench-search: install
	$(RUN) python bench/search.py
