"""Family `ssh`: effective sshd settings computed like `sshd -T`, authorized keys, private keys, host keys."""

from __future__ import annotations

import base64
import shutil
import struct
from pathlib import Path

from shelf.scanning.engine.sshd_config import tokenize
from tests.images.builders import write
from tests.scanning.conftest import ids, only


def sshd(factory, name: str, main: str, dropins: dict[str, str] | None = None, extra=None):
    def mutate(tree: Path) -> None:
        shutil.rmtree(tree / "etc/ssh/sshd_config.d")
        write(tree, "etc/ssh/sshd_config", main)
        for file, text in (dropins or {}).items():
            write(tree, f"etc/ssh/sshd_config.d/{file}", text)
        if extra:
            extra(tree)

    return factory.scan(f"sshd-{name}", mutate)


def ssh_ids(result) -> list[str]:
    return [i for i in ids(result) if i.startswith("ssh.")]


def test_first_value_wins_across_includes(image_factory):
    result = sshd(
        image_factory,
        "include-order",
        "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n",
        {"50-cloud-init.conf": "PasswordAuthentication yes\n", "60-hardening.conf": "PasswordAuthentication no\n"},
    )
    finding = only(result, "ssh.password_auth")
    assert finding.severity == "high"
    assert (finding.evidence[0].path, finding.evidence[0].line) == ("/etc/ssh/sshd_config.d/50-cloud-init.conf", 1)
    assert finding.evidence[0].text == "PasswordAuthentication yes"


def test_included_files_are_read_in_lexical_order(image_factory):
    result = sshd(
        image_factory,
        "lexical",
        "# relative patterns are under /etc/ssh\nInclude sshd_config.d/*.conf\n",
        {
            "9-late.conf": "PasswordAuthentication no\n",
            "10-early.conf": "# first in C order\n\nPasswordAuthentication yes\n",
        },
    )
    finding = only(result, "ssh.password_auth")
    assert (finding.evidence[0].path, finding.evidence[0].line) == ("/etc/ssh/sshd_config.d/10-early.conf", 3)


def test_a_value_before_the_include_wins(image_factory):
    result = sshd(
        image_factory,
        "before-include",
        "PasswordAuthentication no\nInclude /etc/ssh/sshd_config.d/*.conf\n",
        {"50-cloud-init.conf": "PasswordAuthentication yes\nPermitRootLogin yes\n"},
    )
    assert ssh_ids(result) == ["ssh.root_login"]
    assert only(result, "ssh.root_login").evidence[0].path == "/etc/ssh/sshd_config.d/50-cloud-init.conf"


def test_match_blocks_do_not_change_the_global_value_but_are_reported(image_factory):
    result = sshd(
        image_factory,
        "match",
        "PasswordAuthentication no\n"
        "Match User deploy\n"
        "    PasswordAuthentication yes\n"
        "    PermitRootLogin yes\n"
        "# a 'global' line after a Match block still belongs to it\n"
        "PermitEmptyPasswords yes\n",
    )
    findings = {(f.check_id, f.severity) for f in result.findings if f.family == "ssh"}
    assert findings == {
        ("ssh.password_auth", "medium"),
        ("ssh.root_login", "medium"),
        ("ssh.empty_passwords", "medium"),
    }
    pw = only(result, "ssh.password_auth")
    assert pw.data["match"] == "User deploy"
    assert (pw.evidence[0].line, pw.evidence[0].text) == (3, "PasswordAuthentication yes")
    assert only(result, "ssh.empty_passwords").evidence[0].line == 6


def test_match_all_returns_to_the_global_context(image_factory):
    result = sshd(
        image_factory,
        "match-all",
        "PasswordAuthentication no\nMatch Address 10.0.0.0/8\n  PermitRootLogin no\nMatch all\nPermitRootLogin yes\n",
    )
    finding = only(result, "ssh.root_login")
    assert finding.severity == "high" and finding.evidence[0].line == 5


def test_a_match_in_an_included_file_ends_with_that_file(image_factory):
    result = sshd(
        image_factory,
        "match-in-include",
        "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\n",
        {"10-users.conf": "PasswordAuthentication no\nMatch Group sftp\n  ForceCommand internal-sftp\n"},
    )
    finding = only(result, "ssh.root_login")
    assert finding.severity == "high" and finding.evidence[0].path == "/etc/ssh/sshd_config"


def test_an_include_inside_a_match_block_is_inside_the_block(image_factory):
    result = sshd(
        image_factory,
        "include-in-match",
        "PasswordAuthentication no\nMatch User ci\n  Include /etc/ssh/sshd_config.d/*.conf\n",
        {"ci.conf": "PasswordAuthentication yes\nMatch all\nPermitRootLogin yes\n"},
    )
    severities = {f.check_id: f.severity for f in result.findings if f.family == "ssh"}
    assert severities == {"ssh.password_auth": "medium", "ssh.root_login": "medium"}


def test_keywords_are_case_insensitive_and_equals_separated(image_factory):
    result = sshd(
        image_factory,
        "case",
        "passwordauthentication YES\nPERMITROOTLOGIN=yes\npermitemptypasswords = Yes # really\n",
    )
    assert {(f.check_id, f.severity) for f in result.findings if f.family == "ssh"} == {
        ("ssh.password_auth", "high"),
        ("ssh.root_login", "high"),
        ("ssh.empty_passwords", "critical"),
    }


def test_openssh_defaults_apply_when_unset(image_factory):
    result = sshd(image_factory, "defaults", "#PasswordAuthentication no\nUsePAM yes\n")
    finding = only(result, "ssh.password_auth")
    assert finding.data == {"keyword": "PasswordAuthentication", "value": "yes", "default": True}
    assert finding.evidence[0].path == "/etc/ssh/sshd_config" and finding.evidence[0].line is None
    assert "ssh.root_login" not in ids(result)  # default prohibit-password
    assert "ssh.empty_passwords" not in ids(result)  # default no


def test_comments_do_not_count(image_factory):
    result = sshd(image_factory, "comments", "PasswordAuthentication no # yes\n  # PermitRootLogin yes\n")
    assert ssh_ids(result) == []


def test_no_openssh_server_no_sshd_findings(image_factory):
    def remove(tree: Path) -> None:
        shutil.rmtree(tree / "etc/ssh")
        (tree / "usr/sbin/sshd").unlink()
        status = (tree / "var/lib/dpkg/status").read_text()
        (tree / "var/lib/dpkg/status").write_text(status.replace("Package: openssh-server", "Package: openssh-client"))

    result = image_factory.scan("no-sshd", remove)
    assert ssh_ids(result) == [] and result.incomplete == []


def test_tokenizer():
    assert tokenize("no # comment") == ["no"]
    assert tokenize('"/etc/ssh/my keys" other') == ["/etc/ssh/my keys", "other"]
    assert tokenize("  a\tb  ") == ["a", "b"]


# ---- keys ------------------------------------------------------------------------------------------------

ED25519_PUB = "AAAAC3NzaC1lZDI1NTE5AAAAIGg2zlHn2Mbd1KZM3b8Tp5dU4l1rAczOWp1CCt3u5Fjy"


def openssh_private_key(cipher: bytes = b"none") -> str:
    raw = b"openssh-key-v1\x00" + struct.pack(">I", len(cipher)) + cipher + b"\x00" * 64
    body = base64.b64encode(raw).decode()
    return f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"


def test_authorized_keys_of_every_user(image_factory):
    def plant(tree: Path) -> None:
        write(tree, "root/.ssh/authorized_keys", f"# builder\n\nssh-ed25519 {ED25519_PUB} builder@laptop\n")
        write(
            tree,
            "home/debian/.ssh/authorized_keys2",
            f'from="10.0.0.1",no-pty ssh-ed25519 {ED25519_PUB} ci\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x\n',
        )

    result = image_factory.scan("authorized-keys", plant)
    findings = [f for f in result.findings if f.check_id == "ssh.authorized_keys"]
    by_path = {f.evidence[0].path: f for f in findings}
    assert set(by_path) == {"/root/.ssh/authorized_keys", "/home/debian/.ssh/authorized_keys2"}
    root = by_path["/root/.ssh/authorized_keys"]
    assert root.severity == "high" and root.evidence[0].line == 3
    assert root.evidence[0].text.startswith("ssh-ed25519 SHA256:") and "builder@laptop" in root.evidence[0].text
    assert ED25519_PUB not in root.evidence[0].text
    assert [e.line for e in by_path["/home/debian/.ssh/authorized_keys2"].evidence] == [1, 2]


def test_authorized_keys_file_from_sshd_config(image_factory):
    def plant(tree: Path) -> None:
        write(tree, "etc/ssh/keys/debian", f"ssh-ed25519 {ED25519_PUB} deploy\n")

    result = sshd(
        image_factory,
        "authorized-keys-file",
        "PasswordAuthentication no\nAuthorizedKeysFile /etc/ssh/keys/%u\n",
        extra=plant,
    )
    finding = only(result, "ssh.authorized_keys")
    assert finding.evidence[0].path == "/etc/ssh/keys/debian" and finding.data["user"] == "debian"


def test_private_keys_in_homes(image_factory):
    def plant(tree: Path) -> None:
        write(tree, "home/debian/.ssh/id_ed25519", openssh_private_key(), 0o600)
        write(
            tree, "root/.ssh/deploy.pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow==\n-----END RSA PRIVATE KEY-----\n"
        )
        write(tree, "root/.ssh/enc", openssh_private_key(b"aes256-ctr"))
        write(tree, "root/.ssh/id_ed25519.pub", f"ssh-ed25519 {ED25519_PUB} me\n")

    result = image_factory.scan("private-keys", plant)
    found = {f.evidence[0].path: f.evidence[0].text for f in result.findings if f.check_id == "ssh.private_key"}
    assert found == {
        "/home/debian/.ssh/id_ed25519": "OPENSSH private key (unencrypted)",
        "/root/.ssh/deploy.pem": "RSA private key (unencrypted)",
        "/root/.ssh/enc": "OPENSSH private key (passphrase-protected)",
    }
    assert not any(f.family == "secrets" for f in result.findings)  # ~/.ssh belongs to the ssh family


def _host_key(tree: Path) -> None:
    write(tree, "etc/ssh/ssh_host_ed25519_key", openssh_private_key(), 0o600)
    write(tree, "etc/ssh/ssh_host_ed25519_key.pub", f"ssh-ed25519 {ED25519_PUB} root@build\n")


def test_host_keys_with_cloud_init_regenerating_them(image_factory):
    finding = only(image_factory.scan("host-keys", _host_key), "ssh.host_keys")
    assert finding.severity == "low" and "regenerate" in finding.title
    assert [e.path for e in finding.evidence] == ["/etc/ssh/ssh_host_ed25519_key"]


def test_host_keys_kept_by_cloud_init_config(image_factory):
    def plant(tree: Path) -> None:
        _host_key(tree)
        write(tree, "etc/cloud/cloud.cfg.d/99-keep.cfg", "ssh_deletekeys: false\n")

    finding = only(image_factory.scan("host-keys-kept", plant), "ssh.host_keys")
    assert finding.severity == "medium" and "99-keep.cfg:1" in finding.title


def test_host_keys_without_cloud_init(image_factory):
    def plant(tree: Path) -> None:
        _host_key(tree)
        write(tree, "etc/cloud/cloud-init.disabled", "")

    finding = only(image_factory.scan("host-keys-no-ci", plant), "ssh.host_keys")
    assert finding.severity == "medium" and "not active" in finding.title
