from pathlib import Path

import pytest

from tests.images.builders import build_set


@pytest.fixture(scope="session")
def disk_files(tmp_path_factory) -> dict[str, Path]:
    """Built once per run: mkfs and qemu-img are the slow part."""
    return build_set(tmp_path_factory.mktemp("disk-files"))
