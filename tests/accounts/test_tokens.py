import io

from django.core.management import call_command

from shelf.accounts.models import ApiToken, hash_token


def test_token_works_and_revoked_token_is_refused(api, alice):
    client = api(alice)
    assert client.get("me").json()["username"] == "alice"
    token = ApiToken.objects.get(user=alice)
    assert token.key_hash == hash_token(client.token) and client.token not in token.key_hash
    assert client.delete(f"tokens/{token.pk}").status_code == 200
    response = client.get("me")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "unauthenticated"


def test_unknown_or_missing_token_is_401(api, db):
    anonymous = api(None)
    assert anonymous.get("me").status_code == 401
    anonymous.headers["Authorization"] = "Bearer shelf_not-a-real-token"
    assert anonymous.get("me").status_code == 401


def test_shelf_token_command_prints_a_working_token_once(api, alice):
    out = io.StringIO()
    call_command("shelf_token", "alice", stdout=out)
    raw = out.getvalue().strip()
    client = api(None)
    client.headers["Authorization"] = f"Bearer {raw}"
    assert client.get("me").json()["kind"] == "provider"
    assert not ApiToken.objects.filter(key_hash=raw).exists()


def test_profile_page_creates_shows_once_and_revokes(web, alice):
    client = web(alice)
    client.post("/accounts/tokens/", {"name": "laptop"})
    page = client.get("/accounts/profile/").content.decode()
    token = ApiToken.objects.get(user=alice, name="laptop")
    assert token.prefix in page and 'id="new-token"' in page
    assert 'id="new-token"' not in client.get("/accounts/profile/").content.decode()
    client.post(f"/accounts/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_cannot_revoke_someone_elses_token(api, web, alice, bob):
    bob_client = api(bob)
    bob_token = ApiToken.objects.get(user=bob)
    assert api(alice).delete(f"tokens/{bob_token.pk}").status_code == 404
    assert web(alice).post(f"/accounts/tokens/{bob_token.pk}/revoke/").status_code == 404
    assert bob_client.get("me").status_code == 200


def test_login_endpoint_exchanges_password_for_token(api, alice):
    from tests.conftest import PASSWORD

    anonymous = api(None)
    wrong = anonymous.post("auth/token", json={"username": "alice", "password": "nope"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "password"
    created = anonymous.post("auth/token", json={"username": "alice", "password": PASSWORD, "name": "cli"}).json()
    anonymous.headers["Authorization"] = f"Bearer {created['token']}"
    assert anonymous.get("me").json()["username"] == "alice"
