"""Regressions found in review: the CLI ends with a readable error, never a traceback."""

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.cli.conftest import CHECKOUT, SHELF


class Handler(BaseHTTPRequestHandler):
    """A server that is not Shelf: HTML with 200, or JSON that is not Shelf's error shape."""

    def do_GET(self):  # noqa: N802
        if self.path.endswith("/me"):
            body, status, kind = b"<html>a login page</html>", 200, "text/html"
        else:
            body, status, kind = json.dumps(["boom"]).encode(), 500, "application/json"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def not_shelf():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def run(*args, url="http://127.0.0.1:9", tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SHELF_CONFIG": str(tmp_path / "c.json"),
        "SHELF_URL": url,
        "SHELF_TOKEN": "shelf_x",
        "COLUMNS": "200",
        **CHECKOUT,
    }
    return subprocess.run([SHELF, *map(str, args)], capture_output=True, text=True, env=env, timeout=120)


def test_a_server_answering_html_is_a_readable_error(not_shelf, tmp_path):
    result = run("whoami", url=not_shelf, tmp_path=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "JSONDecodeError" not in result.stderr
    assert "JSON" in result.stderr


def test_an_error_body_that_is_not_shelfs_shape_is_a_readable_error(not_shelf, tmp_path):
    result = run("regions", url=not_shelf, tmp_path=tmp_path)
    assert result.returncode == 1
    assert "AttributeError" not in result.stderr and "Error 500" in result.stderr


def test_local_scan_with_a_missing_osv_path_or_sbom_directory_names_the_option(tmp_path):
    image = tmp_path / "zero.raw"
    image.write_bytes(b"\0" * 1024 * 1024)
    result = run("scan", image, "--osv", tmp_path / "missing", tmp_path=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "--osv" in result.stderr
    result = run("scan", image, "--sbom", tmp_path / "no-dir" / "sbom.json", tmp_path=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "--sbom" in result.stderr
