# Every target runs inside .venv/, which `make install` creates and keeps current.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8
export PYTHONPATH := $(CURDIR)/src:$(CURDIR)
CLI := $(PY) -m sagemaker_pipelines.toolkit

PIPELINE ?= iris_training
FORMAT ?= human
FILES ?=
CHECK ?=
N ?=
PORT ?= 8080
EXECUTOR ?= local
DAGS ?=
# LINEAGE=<file>: make airflow appends every task's OpenLineage events to it (one JSON object a line)
LINEAGE ?=
# make test: pytest workers (tests/conftest.py keeps a module, and the Airflow-stack tests, on one); 0 = serial
TEST_WORKERS ?= 2
# ENV=<name>: the environment of validate (default: every one), render, graph and compile (default:
# $$SAGEMAKER_PIPELINES_ENV or local). A shell's own ENV (sh's start-up file: a path) is not a name.
ifeq ($(origin ENV),environment)
ifneq ($(findstring /,$(ENV)),)
ENV :=
endif
endif
ALLOW_LOCAL ?=
# BUILD=1: validate also has Airflow build each valid pipeline's DAG (docs/toolkit.md)
BUILD ?=
ENV_FLAG = $(if $(ENV),--env $(ENV))
IAM_ENV := $(or $(ENV),aws)
CONF ?=
# CONF is JSON typed by people: it reaches make run through the environment ($(value) keeps make from
# expanding it, unexport keeps make from expanding it for every recipe) and never a shell command line.
unexport CONF

.PHONY: install lock lint format test test-fast validate render graph compile new sync migrate schemas docs run airflow iam-policy bench clean

EDITOR := tools/editor

install: $(VENV)/.installed $(EDITOR)/node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-image-data.txt pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip sync -q --compile-bytecode --python $(PY) requirements.txt
	@# The SDK's image data, which make schemas reads (never imported; its dependencies conflict with
	@# Airflow's): after the sync, which removes what requirements.txt does not list.
	$(VENV)/bin/uv pip install -q --no-deps --python $(PY) -r requirements-image-data.txt
	@# The project itself, editable: any command run from .venv (airflow dag-processor, airflow dags test,
	@# an IDE's debugger) imports the DAG files' package from src/, without the PYTHONPATH set here.
	$(VENV)/bin/uv pip install -q --no-deps --python $(PY) -e .
	@command -v dot >/dev/null || { echo "installing Graphviz (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
	  || echo "warning: Graphviz could not be installed; 'make graph' will write Mermaid only"; }
	@command -v redis-server >/dev/null || { echo "installing Redis (apt-get), for make airflow EXECUTOR=celery"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) \
	  || echo "warning: Redis could not be installed; 'make airflow EXECUTOR=celery' will not start"; }
	@touch $@

# The editors' YAML language server, pinned by package-lock.json (tests/editor drives it over LSP).
$(EDITOR)/node_modules/.installed: $(EDITOR)/package.json $(EDITOR)/package-lock.json
	@if command -v npm >/dev/null; then \
	  (cd $(EDITOR) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) && touch $@; \
	else echo "warning: npm (Node.js 20) not found; the editor tests (tests/editor) will fail"; fi

# Re-resolve requirements.in into the pinned lock (needs the package registry).
lock: $(VENV)/.installed
	$(VENV)/bin/uv pip compile -q --python-version 3.11 requirements-runtime.in -o requirements-runtime.txt
	$(VENV)/bin/uv pip compile -q --python-version 3.11 requirements.in -o requirements.txt

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: install lint
	$(PY) -m pytest -n $(TEST_WORKERS)

# The edit-test loop: every test that starts no real process (no Airflow, no local endpoint, no make run).
test-fast: install lint
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not processes"

validate: install
	@$(CLI) validate --format $(FORMAT) $(ENV_FLAG) $(if $(BUILD),--build) $(FILES)

render: install
	@$(CLI) render $(PIPELINE) $(ENV_FLAG)

graph: install
	@$(CLI) graph $(PIPELINE) $(ENV_FLAG)

# The files carry one environment's bucket, role and connection: local (the emulator) only if asked.
compile: install
	@$(CLI) compile $(ENV_FLAG) $(if $(ALLOW_LOCAL),--allow-local)

new: install
	$(CLI) new $(NAME) --template $(or $(TEMPLATE),training)

sync: install
	$(CLI) sync

# Rewrite pipelines written for an older format version in the current one (FILES=...: only those);
# CHECK=1 writes nothing and fails when one is not current (CI).
migrate: install
	$(CLI) migrate $(if $(CHECK),--check) $(FILES)

# The generated files: compile/image_data.json (SageMaker SDK image data), the schema's instance types
# (botocore), algorithms, regions and framework versions, and the editors' authored view; then the docs.
schemas: install
	$(CLI) schemas

docs: schemas
	$(CLI) docs

run: export SAGEMAKER_PIPELINES_CONF = $(value CONF)
run: install
	$(CLI) run $(PIPELINE)

# A real Airflow (UI on 127.0.0.1:PORT, scheduler, dag-processor, triggerer) on the local AWS endpoint.
airflow: install
	$(CLI) airflow --port $(PORT) --executor $(EXECUTOR) $(if $(DAGS),--dags $(DAGS)) $(if $(LINEAGE),--lineage $(LINEAGE))

# The least-privilege IAM policy of the pipelines' requests in one environment.
iam-policy: install
	$(CLI) iam-policy --env $(IAM_ENV)

bench: install
	$(PY) benchmarks/bench.py $(if $(N),--sizes $(N))

clean:
	rm -rf .local build
