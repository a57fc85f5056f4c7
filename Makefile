# revmentor - the two commands: `make run` and `make test`.
# Both create .venv and install everything on a fresh machine.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROTOS := $(shell find proto -name '*.proto' | sort)

.PHONY: run test test-fast lint proto catalogue bench install clean

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start the whole platform locally (NATS + every service, SQLite under var/).
run: $(STAMP)
	$(VENV)/bin/revmentor up

## Run the whole suite (PostgreSQL tests skip unless reachable; REQUIRE_POSTGRES=1 makes them fail instead).
test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

## Unit tests only (no NATS, no service processes).
test-fast: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow" tests/kernel tests/enrolment

## ruff, mypy and buf lint.
lint: $(STAMP)
	$(VENV)/bin/ruff check services tests bench
	$(VENV)/bin/ruff format --check services tests bench
	mkdir -p .lint && ln -sfn ../services .lint/revmentor
	MYPYPATH=.lint $(VENV)/bin/mypy -p revmentor
	$(VENV)/bin/buf lint

## Regenerate the committed gRPC/protobuf stubs from proto/.
proto: $(STAMP)
	rm -rf .lint/gen && mkdir -p .lint/gen
	$(PY) -m grpc_tools.protoc -I proto --python_out=.lint/gen --pyi_out=.lint/gen \
		--grpc_python_out=.lint/gen $(PROTOS)
	cd .lint/gen/revmentor && for dir in $$(find . -name v1 -type d); do \
		mkdir -p ../../../services/$$dir; \
		rm -f ../../../services/$$dir/*_pb2*.py ../../../services/$$dir/*_pb2*.pyi; \
		cp $$dir/* ../../../services/$$dir/; \
		touch ../../../services/$$dir/__init__.py ../../../services/$$(dirname $$dir)/__init__.py; \
	done

## Regenerate the integrators' event catalogue (docs/asyncapi.yaml) from the protos.
catalogue: $(STAMP)
	$(PY) -m revmentor.kernel.catalogue

## Benchmarks against raw baselines measured in the same run.
bench: $(STAMP)
	$(PY) -m bench.run

clean:
	rm -rf var .lint .pytest_cache
