# airyard — the table of contents. Each target prints its phases; the work is in hack/.
# `make up` brings the platform up on a local kind cluster; `make test` runs the tests.

SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/.bin:$(CURDIR)/.venv/bin:$(PATH)
PYTEST := .venv/bin/pytest
# Extra pytest arguments, e.g. make e2e PYTEST_ARGS="-k kafka"
PYTEST_ARGS ?=
# What make e2e runs (files or node ids), e.g. make e2e E2E=tests/e2e/test_faults.py::test_helm_rollback;
# SKIP_UP=1 runs it against the platform as it is, without make up first.
E2E ?= tests/e2e
SKIP_UP ?= 0

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

##@ Set-up
.PHONY: tools docker base-images venv lock
tools: ## Pinned kind, helm, kubectl, skaffold, kubeconform, and our psa-check into .bin/ (built from Go modules if needed)
	@hack/tools.sh
docker: ## A working Docker engine (installs docker.io, starts dockerd, fixes --privileged)
	@hack/docker/ensure.sh
base-images: docker ## Upstream base images (debian:bookworm-slim) built from Debian packages when they cannot be pulled
	@hack/images/base-images.sh
venv: ## Python environment for tests and linters in .venv/ (from requirements/dev.lock)
	@hack/venv.sh
lock: ## Re-resolve the Python lock files after editing a requirements *.in file
	@hack/lock.sh

##@ Cluster
.PHONY: cluster down node-image images load-images
node-image: docker ## The offline kind node image (Kubernetes built from the Go module proxy)
	@hack/cluster/node-image.sh
cluster: ## Create the single-node kind cluster `airyard`
	@hack/cluster/up.sh
down: ## Delete the kind cluster (built images and caches are kept)
	@hack/cluster/down.sh
images: base-images ## Build every image under images/ (IMAGES="a b" for some)
	@hack/images/build.sh $(IMAGES)
load-images: images ## Build the images and load them into the cluster
	@hack/images/load.sh $(IMAGES)

##@ Platform
.PHONY: up ui metrics dev chart-deps backup backups restore rotate-fernet-key
chart-deps: ## Chart dependency archives (the official Airflow chart from $$AIRFLOW_CHART, a local copy, if set)
	@hack/chart-deps.sh
up: ## From nothing to a running platform on kind (IMAGES="a b" rebuilds only those)
	@IMAGES="$(IMAGES)" hack/up.sh
ui: ## Port-forward the Airflow UI to localhost:8080
	@hack/ui.sh
metrics: ## Port-forward the metrics UI (dashboards, queries, alerts) to localhost:8428
	@hack/metrics.sh
dev: ## skaffold dev on kind: rebuild images on change; dags/ and plugins/ live from the checkout (hostPath)
	@hack/dev.sh
backup: ## Back up every database of the platform now (to the backup chart's bucket)
	@hack/backup.sh create manual
backups: ## List the backups
	@hack/backup.sh list
restore: ## Restore a backup: make restore BACKUP=<id> (checked first: exists, checksums, schema)
	@hack/backup.sh restore "$(BACKUP)"
rotate-fernet-key: ## Re-encrypt connections and variables with a new Fernet key; the old one is dropped
	@hack/rotate-fernet-key.sh

##@ Tests
.PHONY: test lint unit chart integration e2e soak bench
# Images the integration tests run with Docker: the services (tests/services.py), MLflow and the
# ML task image (tests/integration/ml), the toolbox (its backups, tests/integration/toolbox), the
# metrics image (the metrics chart's rules and scrape configuration, tests/integration).
INTEGRATION_IMAGES := postgresql redis kafka ferretdb minio mlflow ml-tasks toolbox metrics
test: lint unit chart integration ## Everything that needs no cluster: lint, unit, chart and integration tests
lint: venv ## ruff (lint and format check)
	@echo "==> lint"
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .
unit: venv ## Unit tests (tests/unit)
	@echo "==> unit tests"
	@$(PYTEST) tests/unit $(PYTEST_ARGS)
chart: venv tools ## Chart tests (tests/chart) and GitOps/skaffold manifests (tests/gitops): render, validate, assert
	@hack/spark-operator-crds.sh
	@echo "==> chart tests"
	@$(PYTEST) tests/chart tests/gitops $(PYTEST_ARGS)
integration: venv base-images ## Integration tests (tests/integration): hooks and task code against real services in Docker
	@hack/images/build.sh $(INTEGRATION_IMAGES)
	@echo "==> integration tests"
	@$(PYTEST) tests/integration $(PYTEST_ARGS)
e2e: venv ## make up (every image), then the end-to-end tests (E2E=… a part, SKIP_UP=1 without make up)
	@E2E="$(E2E)" PYTEST_ARGS="$(PYTEST_ARGS)" SKIP_UP="$(SKIP_UP)" hack/e2e.sh

soak: venv ## The domain pipelines unpaused for ~100 min on the running platform; every alert into reports/soak.md
	@.venv/bin/pytest -v -s tests/e2e/soak_domains.py

##@ Benchmarks
# Parts of make bench (default: all), e.g. make bench BENCH=latency; report prints the last results.
BENCH ?=
bench: venv ## Benchmarks on the kind cluster into reports/bench.json (BENCH="latency throughput cost data spark")
	@.venv/bin/python -m bench $(BENCH)
