# YTCS Finance — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install compiled lint migrate bench clean deps-system deps-broker audit

# setup.py and the .pyx: the compiled reader is rebuilt (in place) whenever its source changes.
$(STAMP): pyproject.toml setup.py services/claims/parsing/flatxml.pyx
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is needed"; exit 1; }
	@# Debian's python3 makes no venv without python3-venv: installed like the other system packages, or named.
	@test -x $(PY) || $(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv; \
	  else echo "ytcs: cần gói python3-venv / python3-venv is needed: sudo apt-get install -y python3-venv"; exit 1; fi; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# The compiled reader (setup.py) needs a C compiler and Python's headers: Debian's packages when missing.
	@command -v cc >/dev/null && test -f "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y gcc libc6-dev python3-dev; \
	  else echo "ytcs: cần trình biên dịch C / a C compiler and Python headers are needed: sudo apt-get install -y gcc python3-dev"; exit 1; fi; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The compiled reader's module, built in place by the editable install; built again when it has gone missing
# (a `git clean`) though nothing it is made from changed.
compiled: $(STAMP)
	@ls services/claims/parsing/flatxml*.so >/dev/null 2>&1 || $(PY) -m pip install --quiet --no-deps -e .

install: $(STAMP) compiled

run: $(STAMP) compiled deps-broker
	$(VENV)/bin/ytcs run

# With no AMQP_URI and nothing on 127.0.0.1:5672, `ytcs run` starts a private RabbitMQ node under var/
# (docs/deployment.md); its program is Debian's package, installed here when missing as deps-system does for
# `make test`. Without root or apt-get, one line says what to run instead.
deps-broker: $(STAMP)
	@if $(PY) -m services.common.broker_node missing; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server; \
	  else $(PY) -m services.common.broker_node hint; exit 2; fi; \
	fi

migrate: $(STAMP) compiled
	$(VENV)/bin/ytcs migrate

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# promtool and prometheus for the deployment checks (tests/deploy): Debian's package when missing.
deps-system:
	command -v promtool >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus)
	@# tests/browser: Debian's headless Chromium and its chromedriver (Selenium downloads no browser).
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver)
	@# tests/faults and tests/e2e/test_first_run.py start private RabbitMQ nodes: the program must be there.
	test -x /usr/lib/rabbitmq/bin/rabbitmq-server || command -v rabbitmq-server >/dev/null || \
	  (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server)

# The suite runs in parallel: a worker per core, from two (much of it waits on the stacks' processes) to four
# (each worker starts its own stacks). A file's tests run on one worker, in order (some build on each other).
# TEST_JOBS=0: in pytest's own process.
TEST_JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -ge 2 ] 2>/dev/null || n=2; [ "$$n" -le 4 ] || n=4; echo $$n)
test: $(STAMP) compiled deps-system
	$(VENV)/bin/ruff check .
	# The import rules (docs/architecture.md): services independent, domain pure, read side apart, no cycles.
	$(VENV)/bin/lint-imports --no-cache
	# Static security analysis; accepted findings are named in docs/security.md and the baseline file.
	$(VENV)/bin/bandit -q -r services -c pyproject.toml -b tests/security/bandit-baseline.json
	$(VENV)/bin/pytest -q -p no:cacheprovider -n $(TEST_JOBS) --dist loadfile

# Known vulnerabilities of every installed package (PyPI's JSON API); a package it cannot check is a failure.
# Not part of `make test`: this workplace reaches PyPI's package downloads but not that API (docs/security.md).
audit: $(STAMP)
	$(VENV)/bin/pip-audit --strict --skip-editable --progress-spinner off || { \
	  echo "make audit: pip-audit could not check every installed package against PyPI's vulnerability data" \
	       "(found one, or the service is unreachable): not passing silently; see docs/security.md" >&2; exit 1; }

bench: $(STAMP) compiled
	$(PY) -m bench $(if $(REF),--ref $(REF)) $(BENCH)

clean:
	rm -rf var .pytest_cache
