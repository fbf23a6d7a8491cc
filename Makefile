# facilitation — `make run` to try it, `make test` to check it. Nothing else to install by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test lint-imports test-services test-browser bench install install-test translations messages clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# .mo files are built here, not committed; Babel compiles without GNU gettext.
translations: $(VENV)/.installed
	@for po in locale/*/LC_MESSAGES/django.po; do \
	  [ -f "$$po" ] && $(VENV)/bin/pybabel compile --statistics -i "$$po" -o "$${po%.po}.mo" 2>&1 | tail -n 1 || true; \
	done

# Refresh the .po catalogues from the code and templates (needs GNU gettext's xgettext).
messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l fr --no-obsolete --ignore=.venv --ignore=var --ignore=bench

run: $(VENV)/.installed translations
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo --library-demo
	@echo ""
	@echo "Open http://$(HOST):$(PORT)/ and log in with one of the accounts above. Ctrl+C stops the server."
	@# wsproto without per-message deflate: about 38 kB per idle socket instead of 140 kB once a
	@# socket's compressor exists, and no compression per socket per broadcast (docs/performance.md).
	$(VENV)/bin/uvicorn facilitation.asgi:application --host $(HOST) --port $(PORT) --ws wsproto --ws-per-message-deflate false --lifespan on --timeout-graceful-shutdown 10 --no-access-log

# Where PostgreSQL and Redis answer, their pass runs beside the embedded one (two cores: about three
# minutes less); its output is printed after the embedded pass's and kept in var/test-services.log.
test: $(VENV)/.installed-test translations lint-imports
	@if $(PY) tests/services.py "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)" >/dev/null 2>&1; then \
	  mkdir -p var; echo "The PostgreSQL + Redis pass runs beside this one: its output follows (var/test-services.log)."; \
	  ( $(MAKE) --no-print-directory test-services > var/test-services.log 2>&1; echo $$? > var/test-services.rc ) & services=$$!; \
	  $(PY) -m pytest; embedded=$$?; wait $$services; \
	  echo; echo "--- the PostgreSQL + Redis pass ---"; cat var/test-services.log; \
	  [ $$embedded = 0 ] && [ "$$(cat var/test-services.rc)" = 0 ]; \
	else \
	  $(PY) -m pytest && $(MAKE) --no-print-directory test-services; \
	fi
	@$(MAKE) --no-print-directory test-browser

# The import contracts of pyproject.toml ([tool.importlinter]): the domain never imports the live package.
lint-imports: $(VENV)/.installed-test
	$(VENV)/bin/lint-imports --no-cache

# The same suite against PostgreSQL and Redis; skipped with a reason where they are not running,
# a failure where REQUIRE_SERVICES=1 (CI).
test-services: $(VENV)/.installed-test
	@if $(PY) tests/services.py "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)"; then \
	  DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" $(PY) -m pytest -p no:cacheprovider; \
	elif [ "$$REQUIRE_SERVICES" = "1" ]; then echo "REQUIRE_SERVICES=1: PostgreSQL and Redis must be reachable."; exit 1; \
	else echo "Skipped the PostgreSQL + Redis run (see the reason above)."; fi

# Real Chromium through Playwright, in its own pytest process (Playwright's sync API and asyncio tests clash).
test-browser: $(VENV)/.installed-test translations
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; } || true
	$(PY) -m pytest -m browser -p no:cacheprovider

# Faults on the real stack (docs/reliability.md): two Uvicorn processes, PostgreSQL, an own redis-server, Chromium.
.PHONY: chaos chaos-ci
chaos: $(VENV)/.installed-test translations
	$(PY) -m pytest -m chaos -p no:cacheprovider tests/test_chaos.py

CHAOS_K ?=
chaos-ci: $(VENV)/.installed-test translations
	CHAOS_SCALE=ci $(PY) -m pytest -m chaos -p no:cacheprovider tests/test_chaos.py $(if $(CHAOS_K),-k "$(CHAOS_K)")

bench: $(VENV)/.installed-test
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache
