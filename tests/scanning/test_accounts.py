"""Family `accounts`: baked password hashes, empty passwords, extra UID 0 accounts."""

from __future__ import annotations

from pathlib import Path

from tests.images.builders import write
from tests.scanning.conftest import ids, only

HASH = "$6$rounds=5000$saltsalt$Jq9zQ0b0oY4dY8vJm5bq8yq0hQ3o6cY1y9xQe8m1Fv0w2zQ6m7r8t9u0v1w2x3y4z5A6B7C8D9E0F1G2H3I4J5"


def planted(tree: Path) -> None:
    write(
        tree,
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "debian:x:1000:1000:Debian:/home/debian:/bin/bash\n"
        "toor:x:0:0::/root:/bin/sh\n"
        "svc:x:998:998::/var/lib/svc:/usr/sbin/nologin\n"
        "guest::1001:1001::/home/guest:/bin/bash\n"
        "locked:x:1002:1002::/home/locked:/bin/bash\n"
        "nis:x:1003:1003::/:/bin/sh\n",
    )
    write(
        tree,
        "etc/shadow",
        f"root:{HASH}:19700:0:99999:7:::\n"
        "daemon:*:19700:0:99999:7:::\n"
        "debian:!$6$xyz$lockedhash:19700:0:99999:7:::\n"
        "toor:!!:19700::::::\n"
        "svc:$y$j9T$abc$def:19700::::::\n"
        "locked:!*:19700::::::\n"
        "nis::19700::::::\n",
    )


def test_planted_accounts(image_factory):
    result = image_factory.scan("accounts", planted)
    hashes = {f.data["user"]: f for f in result.findings if f.check_id == "accounts.password_hash"}
    assert set(hashes) == {"root", "svc"}
    root = hashes["root"]
    assert root.severity == "high"
    assert (root.evidence[0].path, root.evidence[0].line) == ("/etc/shadow", 1)
    assert root.evidence[0].text == "root: sha512crypt password hash, shell /bin/bash"
    assert HASH not in str(result.to_dict())  # the hash itself is never copied
    assert hashes["svc"].data["login_shell"] is False and "yescrypt" in hashes["svc"].evidence[0].text

    empty = {f.data["user"]: f for f in result.findings if f.check_id == "accounts.empty_password"}
    assert set(empty) == {"guest", "nis"}
    assert empty["guest"].severity == "critical"
    assert (empty["guest"].evidence[0].path, empty["guest"].evidence[0].line) == ("/etc/passwd", 6)
    assert (empty["nis"].evidence[0].path, empty["nis"].evidence[0].line) == ("/etc/shadow", 7)

    uid0 = only(result, "accounts.extra_uid0")
    assert uid0.data["user"] == "toor" and uid0.evidence[0].line == 4


def test_benign_accounts_are_clean(benign):
    assert not [i for i in ids(benign) if i.startswith("accounts.")]


def test_missing_passwd_is_incomplete(image_factory):
    def remove(tree: Path) -> None:
        (tree / "etc/passwd").unlink()

    result = image_factory.scan("no-passwd", remove)
    assert any(r == "accounts: /etc/passwd not found" for r in result.incomplete)
