"""Sign-in throttling stops guessing without letting anyone lock others out; the same on both stores of the
counts (the database by default, Redis when REDIS_URL is set)."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from shelf.accounts import throttle
from tests.conftest import PASSWORD, clear_redis


@pytest.fixture(params=["database", "redis"])
def failures(request, settings):
    """The store the throttle counts in, as the settings select it; Redis under a key prefix of this test's own."""
    if request.param == "database":
        settings.REDIS_URL = ""
        yield throttle._failures()
        return
    settings.REDIS_URL = request.getfixturevalue("redis_url")
    settings.SHELF_REDIS_PREFIX = f"shelf-test-throttle-{uuid.uuid4().hex}"
    store = throttle._failures()
    assert isinstance(store, throttle.RedisFailures)
    yield store
    clear_redis(settings.REDIS_URL, settings.SHELF_REDIS_PREFIX)


def _login(client: Client, username: str, password: str, **meta) -> int:
    return client.post("/accounts/login/", {"username": username, "password": password}, **meta).status_code


def test_guessing_from_one_address_does_not_lock_the_owner_out_elsewhere(alice, settings, failures):
    settings.SHELF_LOGIN_MAX_FAILURES_PER_USER = 3
    attacker, owner = Client(REMOTE_ADDR="203.0.113.9"), Client(REMOTE_ADDR="198.51.100.7")
    for _attempt in range(3):
        assert _login(attacker, "alice", "guess") == 200
    response = attacker.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed sign-ins for this account from your network address" in response.content.decode()
    assert _login(owner, "alice", PASSWORD) == 302


def test_refused_attempts_are_not_counted_so_the_pause_ends(alice, settings, failures):
    settings.SHELF_LOGIN_MAX_FAILURES_PER_USER = 2
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _attempt in range(10):
        _login(attacker, "alice", "guess")
    assert failures.count("203.0.113.9") == 2  # the 8 refused while paused left no trace
    assert _login(attacker, "alice", PASSWORD) == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SHELF_LOGIN_WINDOW_SECONDS + 1)):
        assert _login(attacker, "alice", PASSWORD) == 302


def test_per_address_limit_covers_spraying_many_accounts(alice, bob, settings, api, failures):
    settings.SHELF_LOGIN_MAX_FAILURES_PER_USER = 100
    settings.SHELF_LOGIN_MAX_FAILURES_PER_IP = 4
    sprayer = Client(REMOTE_ADDR="203.0.113.9")
    for name in ("alice", "bob", "carol", "dave"):
        assert _login(sprayer, name, "guess") == 200
    response = sprayer.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert "Too many failed sign-ins from your network address" in response.content.decode()
    # The API refuses the same address for the same reason; any other address is untouched.
    token = api(None).post("auth/token", json={"username": "bob", "password": PASSWORD}, REMOTE_ADDR="203.0.113.9")
    assert token.status_code == 429 and "from your network address" in token.json()["errors"][0]["message"]
    assert _login(Client(REMOTE_ADDR="198.51.100.7"), "bob", PASSWORD) == 302


def test_forwarded_address_is_trusted_only_when_configured(alice, settings, failures):
    settings.SHELF_LOGIN_MAX_FAILURES_PER_USER = 2
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    # Unconfigured: the header is the client's own words and is ignored; the proxy's address counts.
    for fake in ("192.0.2.1", "192.0.2.2"):
        _login(proxy, "alice", "guess", HTTP_X_FORWARDED_FOR=fake)
    assert (failures.count("10.0.0.2"), failures.count("192.0.2.1"), failures.count("192.0.2.2")) == (2, 0, 0)
    # Behind a configured proxy, each client is its own address: one guesser does not lock out the others.
    settings.SHELF_CLIENT_IP_HEADER = "X-Forwarded-For"
    for _attempt in range(2):
        _login(proxy, "alice", "guess", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.1")
    assert _login(proxy, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.1") == 200  # the guesser's address
    assert _login(proxy, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7") == 302
    # A garbled header falls back to the connection, never to the text.
    _login(proxy, "bob", "guess", HTTP_X_FORWARDED_FOR="not-an-address")
    assert (failures.count("10.0.0.2", "bob"), failures.count("10.0.0.2", "alice")) == (1, 2)
