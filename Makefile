# Everything a fresh machine needs is installed by the targets themselves:
# a virtual environment (.venv), the control-plane binaries (built with Go
# into ~/.cache/kubemedic) and Debian's prometheus package.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.installed
# pytest arguments, e.g. make test PYTEST_ARGS="-x tests/e2e" (default: all of tests/).
PYTEST_ARGS ?=
# make test KEEP_DEVCLUSTER=1 leaves the cluster and Prometheus running.
KEEP_DEVCLUSTER ?=

.PHONY: help venv binaries prometheus-install deps lint unit test demo crds down bench

help:
	@echo "make demo    a local cluster and Prometheus; the operator heals three failures live"
	@echo "make test    install what is missing, lint, run every test"
	@echo "make unit    the tests that need no cluster"
	@echo "make lint    ruff, mypy --strict and the import contracts"
	@echo "make bench   benchmark figures of the pod watch (BENCH_ARGS=--cluster for more)"
	@echo "make deps    venv + binaries + prometheus-install"
	@echo "make crds    regenerate crds/ from the API models"
	@echo "make down    stop the local cluster and Prometheus"

venv: $(VENV_STAMP)

# NB: re-installs only when pyproject.toml changes (the stamp is older).
$(VENV_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

binaries:
	@hack/build-binaries >/dev/null

prometheus-install:
	@hack/install-prometheus

deps: venv binaries prometheus-install

lint: venv
	$(VENV)/bin/ruff check operator tests benchmarks hack/devcluster hack/demo
	$(VENV)/bin/ruff format --check operator tests benchmarks hack/devcluster hack/demo
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# pytest exits 5 when it selects no test: no unit tests is no failure.
unit: venv
	@status=0; $(VENV)/bin/pytest -m "not cluster and not prometheus" $(PYTEST_ARGS) \
	  || status=$$?; \
	if [[ $$status -eq 5 ]]; then echo "No unit tests selected"; status=0; fi; \
	exit $$status

test:
	@started=$$(date +%s); \
	$(MAKE) --no-print-directory deps; \
	$(MAKE) --no-print-directory lint; \
	lint_done=$$(date +%s); \
	if [[ -z "$(KEEP_DEVCLUSTER)" ]]; then trap 'hack/devcluster down' EXIT; fi; \
	hack/devcluster up >/dev/null; \
	hack/devcluster prometheus-up >/dev/null; \
	echo "Set-up took $$(( $$(date +%s) - started ))s (lint included: $$(( lint_done - started ))s)"; \
	status=0; $(VENV)/bin/pytest $(PYTEST_ARGS) || status=$$?; \
	if [[ $$status -eq 5 ]]; then echo "pytest collected no tests: the suite is missing" >&2; fi; \
	exit $$status

demo: deps
	@kubeconfig=$$(hack/devcluster up); \
	prometheus_url=$$(hack/devcluster prometheus-up); \
	bin_dir=$$(hack/build-binaries); \
	export KUBECONFIG="$$kubeconfig" KUBEMEDIC_PROMETHEUS_URL="$$prometheus_url"; \
	export PATH="$$PWD/$(VENV)/bin:$$bin_dir:$$PATH"; \
	echo "Cluster: KUBECONFIG=$$kubeconfig   Prometheus: $$prometheus_url"; \
	if compgen -G 'crds/*.yaml' >/dev/null; then kubectl apply -f crds/; \
	else kubemedic crds | kubectl apply -f -; fi; \
	kubectl get nodes; \
	if [[ -x hack/demo ]]; then exec hack/demo; fi; \
	echo "Running the operator; Ctrl-C stops it (make down stops the cluster)"; \
	exec kubemedic run

crds: venv
	$(VENV)/bin/kubemedic crds --out crds

down:
	hack/devcluster down

# Figures, not assertions: see benchmarks/ and the README's Performance section.
BENCH_ARGS ?=
bench: deps
	$(VENV)/bin/python benchmarks/bench_pod_watch.py $(BENCH_ARGS)
