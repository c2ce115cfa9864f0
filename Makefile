# ctop-ebpf — quick start is `make run` and `make test`.
SHELL := /bin/bash
PY := /usr/bin/python3
VENV := .venv
STAMP := $(VENV)/.installed
ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages the tool and its tests need (checked one by one, installed only if missing).
APT_PKGS := python3-bpfcc python3-venv python3-pip linux-headers-$(ARCH) docker.io busybox-static tmux gcc \
	containerd runc podman xz-utils
BENCH_PKGS := nginx-light wrk strace bpfcc-tools gcc

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
# the node agent's image (make image): built from a base made here, no registry
IMAGE ?= ctop-ebpf:$(VERSION)
BASE_IMAGE ?= ctop-ebpf-base:bookworm
IMAGE_PKGS := mmdebstrap docker.io

.PHONY: setup run test test-fast bench screenshots soak lint clean apt-deps image image-base image-context

setup: apt-deps $(STAMP)
	@$(SUDO) sh -c 'mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing' 2>/dev/null || true
	@test -x $(VENV)/bin/ctop-ebpf

apt-deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PY) -m venv --system-site-packages $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

run: setup
	$(SUDO) $(VENV)/bin/ctop-ebpf $(ARGS)

test: setup lint
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

# The layer contracts of pyproject.toml, checked against an installed copy:
# grimp does not follow the editable install's mapping of the folders into ctop_ebpf.
lint: setup
	@rm -rf build/lint
	@$(VENV)/bin/pip install -q --no-deps --no-build-isolation --target build/lint . 2>&1 | grep -v '^WARNING: Location' || true
	cd build/lint && PYTHONPATH=. ../../$(VENV)/bin/lint-imports --config ../../pyproject.toml

# Unit tests only: no kernel, no Docker.
test-fast: setup
	$(VENV)/bin/python -m pytest -q -m "not kernel and not docker and not runtimes" $(PYTEST_ARGS)

bench: setup
	@missing=""; for p in $(BENCH_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi
	$(SUDO) $(VENV)/bin/python -m benchmarks.run

screenshots: setup
	$(VENV)/bin/python -m tests.screenshots screenshots

# minutes of ctop-ebpf under nginx/wrk, exec and open storms; RSS must stay flat (not in CI)
soak: setup
	$(SUDO) $(VENV)/bin/python -m benchmarks.soak $(SOAK_ARGS)

# The node agent's image (Containerfile): base from mmdebstrap + docker import
# (made once, reused), context with wheels and a kernel-header set, then a build
# that needs no network. IMAGE=... BASE_IMAGE=... to name them.
image: image-base image-context
	docker build --quiet --network none -f Containerfile --build-arg BASE=$(BASE_IMAGE) -t $(IMAGE) build/image
	@echo "image $(IMAGE)"

image-base:
	@missing=""; for p in $(IMAGE_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi
	@docker image inspect $(BASE_IMAGE) >/dev/null 2>&1 || $(SUDO) deploy/image/base.sh $(BASE_IMAGE)

image-context: setup
	deploy/image/context.sh $(VENV)/bin/python build/image

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .import_linter_cache
