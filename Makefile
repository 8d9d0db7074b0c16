# Shelf: `make run` sets up and serves on 127.0.0.1:8000; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# System tools Shelf drives: qemu-img (image validation), ClamAV (malware pass, with signatures you provide),
# mkfs/partitioning tools and db5.3-util (test images), chromium (browser tests); qemu-system-x86 runs instances
# (the local compute back end), mtools writes their cloud-init seed, syslinux, cpio and the kernel/busybox packages
# it fetches build the bootable test image (shelf/compute/bootimage.py).
APT_PACKAGES := qemu-utils e2fsprogs xfsprogs dosfstools gdisk fdisk db5.3-util clamav chromium \
	qemu-system-x86 mtools syslinux syslinux-common cpio
APT_COMMANDS := qemu-img mkfs.ext4 mkfs.xfs mkfs.vfat sgdisk sfdisk db5.3_load clamscan chromium \
	qemu-system-x86_64 mcopy syslinux cpio

.PHONY: run test lint bench venv system-deps migrate demo clean openapi

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the pins change.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

venv: $(VENV)/.installed

system-deps:
	@missing=""; for c in $(APT_COMMANDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages (missing:$$missing)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi

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

test: system-deps venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff (lint and format), the import-linter contracts in pyproject.toml (layer order, Django-free scan engine),
# migrations up to date.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

bench: system-deps venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache

openapi: venv
	$(BIN)/python manage.py export_openapi > docs/openapi.json
