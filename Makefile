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
N ?=
PORT ?= 8080
EXECUTOR ?= local
DAGS ?=
# ENV only from the command line: a shell's own ENV variable (sh's startup file) must not leak in.
IAM_ENV := $(if $(filter command line,$(origin ENV)),$(ENV),aws)

.PHONY: install lock lint format test validate render graph compile new sync docs run airflow iam-policy bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip sync -q --compile-bytecode --python $(PY) requirements.txt
	@command -v dot >/dev/null || { echo "installing Graphviz (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
	  || echo "warning: Graphviz could not be installed; 'make graph' will write Mermaid only"; }
	@command -v redis-server >/dev/null || { echo "installing Redis (apt-get), for make airflow EXECUTOR=celery"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) \
	  || echo "warning: Redis could not be installed; 'make airflow EXECUTOR=celery' will not start"; }
	@touch $@

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
	$(PY) -m pytest

validate: install
	$(CLI) validate --format $(FORMAT) $(FILES)

render: install
	$(CLI) render $(PIPELINE)

graph: install
	$(CLI) graph $(PIPELINE)

compile: install
	$(CLI) compile

new: install
	$(CLI) new $(NAME) --template $(or $(TEMPLATE),training)

sync: install
	$(CLI) sync

docs: install
	$(CLI) docs

run: install
	$(CLI) run $(PIPELINE)

# A real Airflow (UI on 127.0.0.1:PORT, scheduler, dag-processor, triggerer) on the local AWS endpoint.
airflow: install
	$(CLI) airflow --port $(PORT) --executor $(EXECUTOR) $(if $(DAGS),--dags $(DAGS))

# The least-privilege IAM policy of the pipelines' requests in one environment.
iam-policy: install
	$(CLI) iam-policy --env $(IAM_ENV)

bench: install
	$(PY) benchmarks/bench.py $(if $(N),--sizes $(N))

clean:
	rm -rf .local build
