# Guichet: the README's commands. `make help` lists them.
#
# Every target uses the tools of .venv; `make venv` (a dependency of the others) creates it and
# installs requirements-dev.txt, again only when a requirements file changed.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON3 ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements
# Minimum test coverage of apps/ (percent); `make test COV_MIN=90` or the environment overrides it.
COV_MIN ?= 94
export COV_MIN
VAR_DIR := $(or $(GUICHET_VAR_DIR),var)

.PHONY: help venv run test fuzz lint fmt schema bench bench-hotkeys chaos clean-var requirements

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv and install requirements-dev.txt (only when they changed)

# scripts/make_venv.py prints a line per package and, while pip installs (minutes the first
# time), a line every 10 s with the count of packages installed so far.
$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON3) scripts/make_venv.py $(VENV) requirements-dev.txt
	@touch $@

run: $(STAMP) ## the whole platform on embedded defaults (Ctrl-C stops it)
	$(PY) scripts/run.py

test: $(STAMP) ## every test and check (coverage gate: COV_MIN, default 94)
	$(PY) scripts/services.py exec -- bash scripts/test.sh

fuzz: $(STAMP) ## deep schemathesis run of both schemas, with the stateful workflow walk
	GUICHET_FUZZ=deep $(PY) scripts/services.py exec -- \
		$(PY) -m pytest tests/contract/test_fuzz.py -q -rs -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, formatting and mypy, without the tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

fmt: $(STAMP) ## fix what ruff can fix and format the code
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schema: $(STAMP) ## regenerate the committed OpenAPI files schema.yml, schema-public.yml and asyncapi.yml
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py spectacular --urlconf config.urls_tenant --file schema.yml --validate
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py spectacular --urlconf config.urls_public --file schema-public.yml --validate
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py realtime_asyncapi --file asyncapi.yml

bench: $(STAMP) ## the platform benchmarks (benches/run.py), on embedded services unless configured
	@if [ -f benches/run.py ]; then \
		$(PY) scripts/services.py exec -- $(PY) benches/run.py; \
	else \
		echo "benches/run.py does not exist yet"; \
	fi

bench-hotkeys: $(STAMP) ## the hot-key store benchmark
	$(PY) benches/bench_hotkeys.py

chaos: $(STAMP) ## fault-injection suite on a throw-away loopback stack (chaos/README.md; not in make test)
	$(PY) chaos/run.py $(CHAOS_ARGS)

clean-var: ## stop the embedded PostgreSQL and delete every local state in var/
	@if [ -x $(PY) ]; then $(PY) scripts/services.py stop-postgres; fi
	rm -rf -- "$(VAR_DIR)"

requirements: ## regenerate requirements*.txt from requirements*.in (pip-compile)
	CUSTOM_COMPILE_COMMAND="make requirements" $(VENV)/bin/pip-compile --quiet --strip-extras \
		--no-emit-index-url --no-emit-find-links --output-file requirements.txt requirements.in
	CUSTOM_COMPILE_COMMAND="make requirements" $(VENV)/bin/pip-compile --quiet --strip-extras \
		--no-emit-index-url --no-emit-find-links --output-file requirements-dev.txt requirements-dev.in
	@# requirements-dev.txt installs the runtime pins too.
	awk '!done && !/^#/ { if ($$0 != "-r requirements.txt") print "-r requirements.txt"; done = 1 } { print }' \
		requirements-dev.txt > requirements-dev.txt.tmp && mv requirements-dev.txt.tmp requirements-dev.txt
