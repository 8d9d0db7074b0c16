"""`shelf image ...` against a live server: the real console script, the real HTTP upload protocol."""

import json
import os
import re
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from shelf.accounts.services import token_create
from shelf.images import api as images_api
from shelf.images import tasks as images_tasks
from shelf.images.models import Image
from tests.cli.conftest import CHECKOUT, SHELF
from tests.images.builders import MiB, build_set, sha256_of, stored_files, tools_missing

if tools_missing():
    pytest.skip(f"missing {', '.join(tools_missing())}", allow_module_level=True)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def disk_files(tmp_path_factory) -> dict[str, Path]:
    return build_set(tmp_path_factory.mktemp("cli-disk-files"))


@pytest.fixture
def alice_token(alice):
    return token_create(user=alice, name="cli tests")[1]


def flat(text: str) -> str:
    """Rich wraps long lines to the terminal width; compare text with the wrapping undone."""
    return " ".join(text.split())


def image_id_printed(result) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1].strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", last), result.stdout
    return last


def test_import_qcow2_and_raw_then_list_and_copy(shelf_cli, alice_token, disk_files):
    ids = {}
    for fmt in ("qcow2", "raw"):
        result = shelf_cli(
            "image",
            "import",
            str(disk_files[fmt]),
            "--region",
            "ap-guangzhou",
            "--name",
            f"Ubuntu {fmt}",
            token=alice_token,
        )
        ids[fmt] = image_id_printed(result)
        assert f"Detected format: {fmt}" in result.stdout
        image = Image.objects.get(pk=ids[fmt])
        assert image.status == "available", image.failure_reason
        assert image.disk_format == fmt and image.region.code == "ap-guangzhou"
        assert image.sha256 == sha256_of(disk_files[fmt])
        assert image.virtual_size == 4 * MiB

    listed = shelf_cli("image", "list", token=alice_token)
    assert listed.returncode == 0, listed.stderr
    for fmt, image_id in ids.items():
        assert image_id in listed.stdout and f"Ubuntu {fmt}" in listed.stdout
    assert listed.stdout.count("available") == 2

    copied = shelf_cli("image", "copy", ids["qcow2"], "--region", "ap-shanghai", token=alice_token)
    copy_id = image_id_printed(copied)
    copy = Image.objects.get(pk=copy_id)
    assert copy.status == "available" and copy.region.code == "ap-shanghai"
    assert copy.sha256 == sha256_of(disk_files["qcow2"]) and copy.source_image_id is not None
    assert "ap-shanghai" in shelf_cli("image", "list", "--region", "ap-shanghai", token=alice_token).stdout

    shown = shelf_cli("image", "show", copy_id, token=alice_token)
    assert shown.returncode == 0 and copy.sha256 in shown.stdout

    deleted = shelf_cli("image", "delete", ids["raw"], token=alice_token)
    assert deleted.returncode == 0, deleted.stderr
    assert not Image.objects.filter(pk=ids["raw"]).exists()


def test_refused_image_exits_1_with_the_reason(shelf_cli, alice_token, disk_files):
    result = shelf_cli(
        "image",
        "import",
        str(disk_files["backing"]),
        "--region",
        "ap-guangzhou",
        "--name",
        "overlay",
        token=alice_token,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    image = Image.objects.get()
    assert image.status == "failed" and image.failure_code == "backing_file"
    assert flat(image.failure_reason) in flat(result.stdout)
    assert stored_files(image.pk) == []


def test_copy_to_the_same_region_prints_the_rule(shelf_cli, alice_token, disk_files):
    image_id = image_id_printed(
        shelf_cli("image", "import", str(disk_files["qcow2"]), "-r", "ap-guangzhou", "-n", "x", token=alice_token)
    )
    result = shelf_cli("image", "copy", image_id, "--region", "ap-guangzhou", token=alice_token)
    assert result.returncode == 1
    assert "422" in result.stderr and "region" in result.stderr and "already in ap-guangzhou" in result.stderr


def test_over_quota_prints_the_quota(shelf_cli, alice, alice_token, disk_files):
    org = alice.memberships.get().organization
    org.image_quota_bytes = MiB
    org.save()
    result = shelf_cli("image", "import", str(disk_files["raw"]), "-r", "ap-guangzhou", "-n", "big", token=alice_token)
    assert result.returncode == 1
    assert "413" in result.stderr and "quota" in flat(result.stderr)
    assert not Image.objects.exists()


# --------------------------------------------------------------------------- interruptions


def cli_env(tmp_path: Path, url: str, token: str) -> dict:
    """The environment `shelf_cli` gives the console script."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "SHELF_CONFIG": str(tmp_path / "shelf-config.json"),
        "SHELF_URL": url,
        "SHELF_TOKEN": token,
        "COLUMNS": "200",
        **CHECKOUT,
    }


@pytest.fixture
def big_raw(tmp_path) -> Path:
    """A raw disk of random bytes (whole sectors) behind an MBR signature, big enough for many chunks."""
    path = tmp_path / "big.raw"
    with open(path, "wb") as fh:
        for _ in range(24):
            fh.write(os.urandom(MiB))
        fh.seek(510)
        fh.write(b"\x55\xaa")  # without a partition table or a filesystem, validation refuses the disk
    return path


class Gate:
    """Wraps a server-side function: its `after`-th call finishes its work, then holds its answer until released.

    The live server runs in this process, so patching a function it calls makes an interruption land at a
    known point instead of racing a fast loopback upload.
    """

    def __init__(self, function, after: int):
        self.function, self.after, self.calls = function, after, 0
        self.reached, self.released = threading.Event(), threading.Event()

    def __call__(self, *args, **kwargs):
        result = self.function(*args, **kwargs)
        self.calls += 1
        if self.calls == self.after:
            self.reached.set()
            self.released.wait(30)
        return result

    def wait_reached(self, timeout: float = 30) -> None:
        assert self.reached.wait(timeout), "the server never reached the gate"


@pytest.fixture
def gated_chunks(monkeypatch, settings):
    """1 MiB chunks; the server holds its answer to the 4th."""
    settings.SHELF_UPLOAD_CHUNK_MAX = MiB
    gate = Gate(images_api.image_upload_chunk, after=4)
    monkeypatch.setattr(images_api, "image_upload_chunk", gate)
    yield gate
    gate.released.set()


@pytest.fixture
def gated_validation(monkeypatch):
    """The validation job (run inside the completing request by the immediate backend) holds when done."""
    gate = Gate(images_tasks.run_validation, after=1)
    monkeypatch.setattr(images_tasks, "run_validation", gate)
    yield gate
    gate.released.set()


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(command: list[str], env: dict, gate: Gate) -> tuple[int, str, str]:
    """Run the CLI, press Ctrl-C once the server reached the gate, then let the server go on."""
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A child inherits an ignored SIGINT (some CI runners start the suite so), and Python then never turns it
        # into KeyboardInterrupt: give the child the default disposition, as a terminal's Ctrl-C would find it.
        preexec_fn=_default_sigint,
    )
    try:
        gate.wait_reached()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        gate.released.set()
    return process.returncode, stdout, stderr


def test_ctrl_c_then_rerun_resumes_and_ends_available(live_server, alice_token, big_raw, tmp_path, gated_chunks):
    env = cli_env(tmp_path, live_server.url, alice_token)
    command = [SHELF, "image", "import", str(big_raw), "--region", "ap-guangzhou", "--name", "big"]
    returncode, stdout, stderr = interrupt(command, env, gated_chunks)
    assert returncode == 130, stdout + stderr
    assert "Run the same command again to resume" in flat(stderr)

    image = Image.objects.get()
    assert image.status == "importing"
    held = image.upload.received
    assert 0 < held < big_raw.stat().st_size
    state = json.loads((tmp_path / "uploads.json").read_text())
    assert list(state.values()) == [str(image.pk)]

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert image_id_printed(second) == str(image.pk)
    assert "Resuming import" in second.stdout and str(image.pk) in second.stdout
    image.refresh_from_db()
    assert image.status == "available", image.failure_reason
    assert image.sha256 == sha256_of(big_raw) and image.virtual_size == big_raw.stat().st_size
    assert json.loads((tmp_path / "uploads.json").read_text()) == {}  # a finished import is forgotten


def test_ctrl_c_after_the_upload_does_not_upload_again(
    live_server, alice_token, disk_files, tmp_path, gated_validation
):
    env = cli_env(tmp_path, live_server.url, alice_token)
    command = [SHELF, "image", "import", str(disk_files["qcow2"]), "--region", "ap-guangzhou", "--name", "once"]
    returncode, stdout, stderr = interrupt(command, env, gated_validation)
    assert returncode == 130, stdout + stderr
    image = Image.objects.get()

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert image_id_printed(again) == str(image.pk)
    assert f"Image {image.pk} was uploaded already" in flat(again.stdout)
    assert Image.objects.count() == 1  # the file was not sent a second time
    image.refresh_from_db()
    assert image.status == "available"


class DroppingProxy:
    """A TCP proxy to the live server that cuts the first connection carrying a PUT mid-body."""

    def __init__(self, upstream: str, cut_after: int):
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.cut_after = cut_after
        self.dropped = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket):
        server = socket.create_connection(self.upstream)
        threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()
        self._pipe(client, server, True)

    def _pipe(self, source: socket.socket, target: socket.socket, upstream: bool):
        seen, is_put = 0, False
        try:
            while data := source.recv(65536):
                if upstream:
                    is_put = is_put or data.startswith(b"PUT ")
                    seen += len(data)
                    if is_put and not self.dropped and seen > self.cut_after:
                        self.dropped += 1
                        break
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self):
        self.stopping = True
        self.listener.close()


def test_dropped_connection_is_retried(live_server, alice_token, disk_files, tmp_path, settings):
    settings.SHELF_UPLOAD_CHUNK_MAX = MiB
    proxy = DroppingProxy(live_server.url, cut_after=300 * 1024)
    try:
        env = cli_env(tmp_path, proxy.url, alice_token)
        result = subprocess.run(
            [SHELF, "image", "import", str(disk_files["raw"]), "-r", "ap-guangzhou", "-n", "flaky"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        proxy.close()
    assert proxy.dropped == 1
    image = Image.objects.get(pk=image_id_printed(result))
    assert image.status == "available" and image.sha256 == sha256_of(disk_files["raw"])


@pytest.mark.parametrize(
    ("name", "named"), [("disk.qcow2", "QCOW2"), ("disk.VMDK", "VMDK"), ("disk.vhd", "VHD"), ("disk.vhdx", "VHDX")]
)
def test_file_named_as_one_format_holding_another_is_refused_before_uploading(
    shelf_cli, alice_token, disk_files, tmp_path, name, named
):
    misnamed = tmp_path / name
    misnamed.write_bytes(disk_files["raw"].read_bytes())
    result = shelf_cli("image", "import", str(misnamed), "--region", "ap-guangzhou", "--name", "x", token=alice_token)
    assert result.returncode == 2, result.stdout + result.stderr
    assert flat(result.stderr) == flat(
        f"{name} is named as a {named} image, but its content is a raw image. Nothing was uploaded; rename the "
        "file, or pass --format raw to upload it as raw."
    )
    assert not Image.objects.exists()


def test_format_option_other_than_the_content_is_refused_before_uploading(shelf_cli, alice_token, disk_files):
    result = shelf_cli(
        "image", "import", str(disk_files["qcow2"]), "-f", "raw", "-r", "ap-guangzhou", "-n", "x", token=alice_token
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert flat(result.stderr) == flat(
        f"{disk_files['qcow2'].name} holds a QCOW2 image, not raw as --format says. Nothing was uploaded; pass "
        "--format qcow2, or convert the file."
    )
    assert not Image.objects.exists()
