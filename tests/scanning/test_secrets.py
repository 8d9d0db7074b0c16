"""Family `secrets`: keys, tokens and credential files in homes, /etc, /opt, /srv and /var/www, always masked."""

from __future__ import annotations

import json
from pathlib import Path

from shelf.scanning.engine.checks.secrets import scan_text
from shelf.scanning.engine.text import mask
from tests.images.builders import write
from tests.scanning.conftest import ids

AWS_ID = "AKIA" + "Z3Q7WJ5NLBX2R4TY"
AWS_SECRET = "q8Fz/2kLmN4pR7sT1vW3xY5zA9bC0dE6fG8hJ2kL"
TENCENT = "AKID" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv"
ALIBABA = "LTAI5tAbCdEfGhIjKlMnOp"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITLAB = "glpat-" + "Xy9Zk2Lm4Np6Qr8St0Uv"
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
PASSWORD = "S3cr3t-Db-Passw0rd"
SECRETS = [AWS_ID, AWS_SECRET, TENCENT, ALIBABA, GITHUB, GITLAB, SLACK, PASSWORD]


def planted(tree: Path) -> None:
    write(
        tree,
        "root/.aws/credentials",
        f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n",
    )
    write(tree, "home/debian/.git-credentials", f"https://debian:{GITHUB}@github.com\n")
    write(tree, "home/debian/.netrc", f"machine ftp.example.com login debian password {PASSWORD}\n")
    write(tree, "home/debian/.pgpass", f"# host:port:db:user:password\ndb.internal:5432:app:app:{PASSWORD}\n")
    write(tree, "root/.my.cnf", f"[client]\nuser=root\npassword={PASSWORD}\n")
    write(
        tree,
        "root/.docker/config.json",
        json.dumps({"auths": {"registry.example.com": {"auth": "ZGViaWFuOnMzY3IzdA=="}}}, indent=2),
    )
    write(tree, "opt/app/.env", f"# app settings\nTENCENT_SECRET_ID={TENCENT}\nALIYUN_KEY={ALIBABA}\n")
    write(tree, "srv/deploy/notify.sh", f"#!/bin/sh\ncurl -H 'Authorization: Bearer {SLACK}' https://slack.com/api\n")
    write(tree, "var/www/html/config.php", f"<?php\n// gitlab\n$token = '{GITLAB}';\n")
    write(tree, "etc/ssl/private/site.key", "-----BEGIN PRIVATE KEY-----\nMIIEvQ==\n-----END PRIVATE KEY-----\n")
    write(tree, "etc/ssl/certs/bundle.pem", "-----BEGIN RSA PRIVATE KEY-----\nskipped: package-owned trust store\n")
    write(tree, "opt/app/big.txt", f"{AWS_ID}\n" + "x" * (1024 * 1024 + 10))
    write(tree, "opt/app/blob.bin", b"\x00\x01" + AWS_ID.encode())


def test_planted_secrets(image_factory):
    result = image_factory.scan("secrets", planted)
    found = {(f.check_id, e.path, e.line) for f in result.findings if f.family == "secrets" for e in f.evidence}
    assert found == {
        ("secrets.cloud_key", "/root/.aws/credentials", 2),
        ("secrets.cloud_key", "/root/.aws/credentials", 3),
        ("secrets.credential_file", "/root/.aws/credentials", 3),
        ("secrets.credential_file", "/home/debian/.git-credentials", 1),
        ("secrets.token", "/home/debian/.git-credentials", 1),
        ("secrets.credential_file", "/home/debian/.netrc", 1),
        ("secrets.credential_file", "/home/debian/.pgpass", 2),
        ("secrets.credential_file", "/root/.my.cnf", 3),
        ("secrets.credential_file", "/root/.docker/config.json", 3),
        ("secrets.cloud_key", "/opt/app/.env", 2),
        ("secrets.cloud_key", "/opt/app/.env", 3),
        ("secrets.token", "/srv/deploy/notify.sh", 2),
        ("secrets.token", "/var/www/html/config.php", 3),
        ("secrets.private_key", "/etc/ssl/private/site.key", 1),
    }
    severities = {f.check_id: f.severity for f in result.findings if f.family == "secrets"}
    assert severities == {
        "secrets.cloud_key": "critical",
        "secrets.token": "high",
        "secrets.credential_file": "high",
        "secrets.private_key": "high",
    }
    dumped = json.dumps(result.to_dict())
    for secret in SECRETS:
        assert secret not in dumped, secret
    texts = [e.text for f in result.findings for e in f.evidence]
    assert "AWS access key ID AKIA****" in texts
    assert "Tencent Cloud SecretId AKID****" in texts
    assert "password ****" not in texts and f"password {PASSWORD[:4]}****" in texts


def test_benign_has_no_secrets(benign):
    assert not [i for i in ids(benign) if i.startswith("secrets.")]


def test_mask():
    assert mask("AKIAIOSFODNN7EXAMPLE") == "AKIA****"
    assert mask("short") == "****"


def test_scan_text_patterns():
    found = scan_text("/etc/x", f"a\nkey={ALIBABA} other={GITHUB}\n")
    assert {k: [e.line for e in v] for k, v in found.items()} == {
        ("secrets.cloud_key", "critical"): [2],
        ("secrets.token", "high"): [2],
    }
    assert not scan_text("/etc/x", "AKIA-not-a-key and ghp_short\n")
    assert not scan_text("/opt/sdk/README", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")  # AWS's sample key
