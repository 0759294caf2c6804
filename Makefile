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
CONF ?=

.PHONY: install lock lint format test validate render graph compile new docs run bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip sync -q --compile-bytecode --python $(PY) requirements.txt
	@command -v dot >/dev/null || { echo "installing Graphviz (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
	  || echo "warning: Graphviz could not be installed; 'make graph' will write Mermaid only"; }
	@touch $@

# Re-resolve requirements.in into the pinned lock (needs the package registry).
lock: $(VENV)/.installed
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

docs: install
	$(CLI) docs

run: install
	$(CLI) run $(PIPELINE) $(if $(CONF),--conf '$(CONF)')

bench: install
	$(PY) benchmarks/bench.py $(if $(N),--sizes $(N))

clean:
	rm -rf .local build
