"""The CLI against a live server: it talks HTTP only, so these tests exercise the real API end to end."""

import json
import stat

import pytest

from shelf.accounts.services import token_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_token(alice):
    return token_create(user=alice, name="cli tests")[1]


def test_whoami_regions_categories(shelf_cli, alice_token):
    result = shelf_cli("whoami", token=alice_token)
    assert result.returncode == 0, result.stderr
    assert "alice" in result.stdout and "Alice Images" in result.stdout
    regions = shelf_cli("regions", token=alice_token)
    assert regions.returncode == 0 and "ap-guangzhou" in regions.stdout and "华南地区（广州）" in regions.stdout
    categories = shelf_cli("categories", token=alice_token)
    assert categories.returncode == 0 and "Databases" in categories.stdout and "数据库" in categories.stdout


def test_login_saves_token_privately_and_whoami_uses_it(shelf_cli, alice, tmp_path):
    from tests.conftest import PASSWORD

    result = shelf_cli("login", "--username", "alice", "--password", PASSWORD)
    assert result.returncode == 0, result.stderr
    config = tmp_path / "shelf-config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["token"].startswith("shelf_")
    assert "alice" in shelf_cli("whoami").stdout


def test_wrong_password_prints_the_field_and_fails(shelf_cli, alice):
    result = shelf_cli("login", "--username", "alice", "--password", "wrong")
    assert result.returncode == 1
    assert "password" in result.stderr and "Wrong username or password" in result.stderr


def test_revoked_token_is_refused(shelf_cli, alice):
    from shelf.accounts.services import token_revoke

    token, raw = token_create(user=alice, name="soon revoked")
    assert shelf_cli("whoami", token=raw).returncode == 0
    token_revoke(user=alice, token=token)
    result = shelf_cli("whoami", token=raw)
    assert result.returncode == 1 and "401" in result.stderr


def test_not_logged_in_says_how(shelf_cli, db):
    result = shelf_cli("whoami")
    assert result.returncode == 2 and "shelf login" in result.stderr


def test_unreachable_server_is_a_clear_error(shelf_cli, alice_token):
    result = shelf_cli("whoami", token=alice_token, env={"SHELF_URL": "http://127.0.0.1:9"})
    assert result.returncode == 1 and "Cannot reach the Shelf server" in result.stderr
