import os
import subprocess

import pytest
from django.test import Client

from shelf.accounts.models import User
from shelf.accounts.services import buyer_signup, operator_create, provider_signup, token_create
from tests import s3

PASSWORD = "correct-Horse-battery-9"


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    """Every test gets its own data directory, so storage written by one test never leaks into another."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


@pytest.fixture(autouse=True)
def _object_store(settings):
    """With S3 selected by the environment (the second run of .ci/run), every test gets its own bucket, as it
    gets its own data directory."""
    if settings.SHELF_STORAGE != s3.S3_STORAGE:
        yield
        return
    client = s3.client(settings.SHELF_S3_ENDPOINT)
    settings.SHELF_S3_BUCKET = bucket = s3.new_bucket(client)
    yield
    s3.drop_bucket(client, bucket)  # the server keeps objects in memory: a whole run's would add up


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    """A moto S3 server of this test process, started once and killed at the end."""
    s3.require_moto()
    process, endpoint = s3.start_moto(tmp_path_factory.mktemp("moto") / "moto.log")
    yield endpoint
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def s3_bucket(settings, moto_endpoint):
    """Shelf on S3 for this test: a fresh bucket of the moto server; yields (client, bucket)."""
    client = s3.client(moto_endpoint)
    bucket = s3.use_s3(settings, moto_endpoint, client)
    yield client, bucket
    s3.drop_bucket(client, bucket)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rolled-back tests reuse catalog version numbers: a cached answer of one test must not reach the next."""
    from django.conf import settings
    from django.core.cache import cache

    if settings.REDIS_URL:
        clear_redis(settings.REDIS_URL, settings.SHELF_REDIS_PREFIX)  # cache.clear() would empty the whole database
    else:
        cache.clear()


def clear_redis(url: str, prefix: str) -> None:
    """Remove this test process's keys (the cache's and the throttle's), never another's."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_url() -> str:
    """A Redis server for tests that need one: REDIS_URL when the run has it, else SHELF_TEST_REDIS_URL."""
    import redis

    url = os.environ.get("REDIS_URL") or os.environ.get("SHELF_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        pytest.skip(f"Redis is not reachable at {url}: {error}")
    finally:
        client.close()
    return url


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Transactional tests flush the database, seeded rows included; put the reference data back."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        from django.apps import apps

        from shelf.catalog.reference import seed

        request.getfixturevalue("transactional_db")
        seed(apps)


@pytest.fixture
def alice(db) -> User:
    return provider_signup(
        username="alice", email="alice@example.com", password=PASSWORD, organization_name="Alice Images"
    )[0]


@pytest.fixture
def bob(db) -> User:
    return provider_signup(username="bob", email="bob@example.com", password=PASSWORD, organization_name="Bob Cloud")[0]


@pytest.fixture
def olivia(db) -> User:
    return operator_create(username="olivia", email="olivia@example.com", password=PASSWORD)


@pytest.fixture
def bruce(db) -> User:
    return buyer_signup(username="bruce", email="bruce@example.com", password=PASSWORD)


class ApiClient:
    """Django's test client speaking JSON to /api/v1 with a bearer token."""

    def __init__(self, user: User | None):
        self.client = Client()
        self.headers = {}
        if user is not None:
            _token, raw = token_create(user=user, name="tests")
            self.token = raw
            self.headers["Authorization"] = f"Bearer {raw}"

    def _call(self, method: str, path: str, json=None, **kwargs):
        url = path if path.startswith("/") else f"/api/v1/{path}"
        if json is not None:
            kwargs.update(data=json, content_type="application/json")
        return getattr(self.client, method)(url, headers=self.headers, **kwargs)

    def get(self, path, **kw):
        return self._call("get", path, **kw)

    def post(self, path, json=None, **kw):
        return self._call("post", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self._call("patch", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self._call("put", path, json=json, **kw)

    def delete(self, path, **kw):
        return self._call("delete", path, **kw)


@pytest.fixture
def api():
    """`api(user)` returns a JSON client authenticated as user (or anonymous with None)."""
    return ApiClient


def web_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def web():
    return web_client


def pytest_configure(config):
    # Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make are still sync.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# Tests that boot real guests (the boot image under qemu or libvirt): CI runs them once, on the embedded default,
# not again on PostgreSQL (`-m "not vm"`).
VM_FIXTURES = {"vm", "boot_image", "accel_decision"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if VM_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.vm)
        if "moto_endpoint" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.s3)
    # `slow` tests (minutes each) run only when asked for by name, `-m slow` (make test-slow): an -m expression of
    # their own, such as PYTEST_ARGS='-m "not browser"', must not pull them into an ordinary run.
    if "slow" not in (config.option.markexpr or ""):
        slow = [item for item in items if item.get_closest_marker("slow")]
        if slow:
            config.hook.pytest_deselected(items=slow)
            items[:] = [item for item in items if not item.get_closest_marker("slow")]
