from shelf.accounts.models import Membership, Organization, User
from shelf.audit.models import AuditEvent

GOOD = {"username": "carol", "email": "carol@example.com", "password": "a-Long-enough-pass-42"}


def test_buyer_signs_up_and_lands_on_the_storefront(client, db):
    response = client.post("/accounts/signup/", GOOD, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    user = User.objects.get(username="carol")
    assert user.kind == "buyer" and not user.organizations.exists()


def test_provider_signup_creates_organisation_with_owner(client, db):
    response = client.post("/accounts/signup/provider/", {**GOOD, "organization_name": "Carol Soft"}, follow=True)
    assert response.redirect_chain[-1][0] == "/provider/"
    org = Organization.objects.get(name="Carol Soft")
    assert Membership.objects.get(organization=org).role == "owner"
    assert AuditEvent.objects.filter(action="organization.create", target_id=str(org.pk)).exists()


def test_signup_reports_every_violation_and_keeps_input(client, alice):
    response = client.post(
        "/accounts/signup/provider/",
        {"username": "alice", "email": "not-an-email", "password": "123", "organization_name": "Alice Images"},
    )
    assert response.status_code == 200
    errors = {name: [str(e) for e in errs] for name, errs in response.context["form"].errors.items()}
    assert "username" in errors and "email" in errors and "password" in errors and "organization_name" in errors
    assert 'value="not-an-email"' in response.content.decode()


def test_login_logout_and_password_change(client, alice):
    from tests.conftest import PASSWORD

    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "Another-strong-pass-7", "new_password2": "Another-strong-pass-7"},
    )
    assert response.status_code == 302
    client.post("/accounts/logout/")
    assert client.get("/provider/").status_code == 302
    assert client.login(username="alice", password="Another-strong-pass-7")


def test_demo_data_refused_in_production(db, settings):
    import pytest
    from django.core.management import CommandError, call_command

    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("demo_data")
    assert not User.objects.filter(username="alice").exists()


def test_demo_data_creates_the_four_users_idempotently(db):
    from django.core.management import call_command

    call_command("demo_data")
    call_command("demo_data")
    users = {u.username: u for u in User.objects.all()}
    assert {"alice", "bob", "olivia", "bruce"} <= set(users)
    assert users["alice"].check_password("shelf-demo")
    assert users["olivia"].kind == "operator" and users["bruce"].kind == "buyer"
    assert set(users["alice"].organizations.all()).isdisjoint(users["bob"].organizations.all())


def test_username_taken_at_the_last_moment_is_a_rule_not_a_500(db, monkeypatch):
    import pytest

    from shelf.accounts import services
    from shelf.errors import RuleViolations

    services.buyer_signup(username="dora", email="dora@example.com", password="a-Long-enough-pass-42")
    # The check ran before the other sign-up committed: only the database's unique index sees the clash.
    monkeypatch.setattr(services, "_user_violations", lambda **kw: [])
    with pytest.raises(RuleViolations) as exc:
        services.buyer_signup(username="dora", email="dora2@example.com", password="a-Long-enough-pass-42")
    assert exc.value.violations[0].field == "username" and exc.value.violations[0].code == "taken"


def test_password_guessing_is_throttled_per_account_in_web_and_api(client, alice, bob, settings, api):
    from tests.conftest import PASSWORD

    settings.SHELF_LOGIN_MAX_FAILURES_PER_USER = 3
    for _attempt in range(3):
        assert client.post("/accounts/login/", {"username": "alice", "password": "guess"}).status_code == 200
    # Even the right password is refused while the account is throttled, and the page says why.
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200 and "Too many failed sign-ins" in response.content.decode()
    token = api(None).post("auth/token", json={"username": "alice", "password": PASSWORD})
    assert token.status_code == 429 and token.json()["errors"][0]["code"] == "http_429"
    # Another account is not affected.
    assert client.post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 302


def test_failures_expire_with_the_window(client, alice, settings):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from tests.conftest import PASSWORD

    settings.SHELF_LOGIN_MAX_FAILURES_PER_USER = 2
    for _attempt in range(2):
        client.post("/accounts/login/", {"username": "alice", "password": "guess"})
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SHELF_LOGIN_WINDOW_SECONDS + 1)):
        assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
