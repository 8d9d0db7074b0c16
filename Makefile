# Shelf: `make run` sets up and serves on 127.0.0.1:8000; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# System tools Shelf drives: qemu-img (image validation), ClamAV (malware pass, with signatures you provide),
# mkfs/partitioning tools and db5.3-util (test images), chromium and a Chinese font (browser tests, screenshots);
# qemu-system-x86 runs instances (the local compute back end), mtools writes their cloud-init seed, syslinux, cpio and the kernel/busybox packages
# it fetches build the bootable test image (shelf/compute/bootimage.py); libvirt (daemon for the libvirt back end's
# tests, libvirt-dev + pkg-config + gcc to build libvirt-python).
APT_PACKAGES := qemu-utils e2fsprogs xfsprogs dosfstools gdisk fdisk db5.3-util clamav chromium fonts-wqy-microhei \
	qemu-system-x86 mtools syslinux syslinux-common cpio \
	libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-dev pkg-config gcc
APT_COMMANDS := qemu-img mkfs.ext4 mkfs.xfs mkfs.vfat sgdisk sfdisk db5.3_load clamscan chromium \
	qemu-system-x86_64 mcopy syslinux cpio libvirtd virsh pkg-config gcc
# Only `make bench` needs these: wrk, the load generator of the catalog benchmark.
BENCH_APT_PACKAGES := wrk
BENCH_APT_COMMANDS := wrk

.PHONY: run test test-slow lint bench faults venv system-deps bench-deps migrate demo clean openapi

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the pins change.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# System packages first: libvirt-python builds against libvirt-dev.
venv: system-deps $(VENV)/.installed

# Install the packages when any of the commands is missing: $(call apt-install,PACKAGES,COMMANDS)
define apt-install
	@missing=""; for c in $(2); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages (missing:$$missing)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(1) >/dev/null; \
	fi
endef

system-deps:
	$(call apt-install,$(APT_PACKAGES),$(APT_COMMANDS))

bench-deps:
	$(call apt-install,$(BENCH_APT_PACKAGES),$(BENCH_APT_COMMANDS))

migrate: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

demo: migrate
	$(BIN)/python manage.py demo_data

run: system-deps demo
	@echo ""
	@echo "  Shelf: open http://127.0.0.1:8000/ and log in as alice or bob (providers),"
	@echo "  olivia (operator) or bruce (buyer); the password is shelf-demo."
	@echo "  API docs: http://127.0.0.1:8000/api/v1/docs"
	@echo ""
	$(BIN)/python manage.py serve

# One pytest process per core (pytest-xdist); PYTEST_ARGS replaces it, e.g. PYTEST_ARGS='-m "not vm" -n 2'.
PYTEST_ARGS ?= -n auto

test: system-deps venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The slow tests, never part of `make test`: a full Debian image (mmdebstrap; built once, cached under
# /var/cache/shelf-boot) bought, booted under qemu and logged into over SSH. Needs root for mmdebstrap.
test-slow: system-deps venv
	$(call apt-install,mmdebstrap openssh-client,mmdebstrap ssh)
	$(BIN)/python -m pytest -m slow -s tests

# ruff (lint and format), the import-linter contracts in pyproject.toml (layer order, Django-free scan engine),
# migrations up to date.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

bench: system-deps bench-deps venv
	$(BIN)/python bench/run.py

# Breaks real parts of a running Shelf on purpose (PostgreSQL restarted under load, web processes killed mid-upload,
# ...) and prints what clients saw; see faults/run.py. Needs root (a private PostgreSQL cluster runs as postgres).
faults: system-deps venv
	$(BIN)/python faults/run.py

clean:
	rm -rf $(VENV) var .pytest_cache

openapi: venv
	$(BIN)/python manage.py export_openapi > docs/openapi.json
