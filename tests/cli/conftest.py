import os
import subprocess
import sys
from pathlib import Path

import pytest

SHELF = str(Path(sys.executable).parent / "shelf")
# The console script imports `shelf` from wherever the virtualenv was installed from; put this checkout first so a
# worktree's tests run its own CLI, not the installed one.
CHECKOUT = {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}


@pytest.fixture
def shelf_cli(live_server, tmp_path):
    """Run the installed `shelf` console script against the live test server."""

    def run(
        *args: str, token: str | None = None, input: str | None = None, env: dict | None = None, timeout: float = 120
    ):
        environment = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "SHELF_CONFIG": str(tmp_path / "shelf-config.json"),
            "SHELF_URL": live_server.url,
            "COLUMNS": "200",
            **CHECKOUT,
            **(env or {}),
        }
        if token:
            environment["SHELF_TOKEN"] = token
        return subprocess.run(
            [SHELF, *args], capture_output=True, text=True, input=input, env=environment, timeout=timeout
        )

    return run
