"""Family `passwords`: built-in passwords of bundled software, default passwords, and first-boot generators."""

from __future__ import annotations

import json
from pathlib import Path

from shelf.scanning.engine.checks.passwords import _is_generator, parse_env, parse_mysql_cnf, parse_tomcat_users
from tests.images.builders import link, write
from tests.scanning.conftest import ids

WP_PASSWORD = "Wp-9fK2-long-DB-pass"
MYSQL_PASSWORD = "Root-Db-7Hq2-secret"
APP_PASSWORD = "App-Db-Pw-xY81-long"
PASSWORDS = [WP_PASSWORD, MYSQL_PASSWORD, APP_PASSWORD, "admin", "123456"]

WP_CONFIG = f"""<?php
define( 'DB_NAME', 'wordpress' );
define( 'DB_USER', 'wordpress' );
define( 'DB_PASSWORD', '{WP_PASSWORD}' );
define( 'DB_HOST', 'localhost' );
"""
TOMCAT_USERS = """<?xml version="1.0" encoding="UTF-8"?>
<tomcat-users>
<!--
  <user username="tomcat" password="<must-be-changed>" roles="tomcat"/>
-->
  <user username="admin" password="admin" roles="manager-gui"/>
</tomcat-users>
"""


def bundled(tree: Path) -> None:
    write(tree, "var/www/html/wp-config.php", WP_CONFIG)
    write(tree, "var/www/html/wp-config-sample.php", WP_CONFIG.replace(WP_PASSWORD, "password_here"))  # not loaded
    write(
        tree,
        "etc/mysql/my.cnf",
        f"[mysqld]\nbind-address = 127.0.0.1\n\n[client]\nuser = root\npassword = {MYSQL_PASSWORD}\n",
    )
    write(
        tree,
        "etc/mysql/debian.cnf",
        f"[client]\nhost = localhost\nuser = debian-sys-maint\npassword = {MYSQL_PASSWORD}x\n",
    )
    write(tree, "opt/shop/.env", f"APP_NAME=Shop\nDB_USERNAME=shop\nDB_PASSWORD={APP_PASSWORD}\nREDIS_PASSWORD=null\n")
    write(tree, "srv/site/.env", "DB_PASSWORD=\nMAIL_PASSWORD=${SMTP_PASSWORD}\n")  # empty and a reference: fine
    write(tree, "etc/redis/redis.conf", "bind 127.0.0.1\n# requirepass foobared\n")  # commented out: fine
    write(tree, "etc/tomcat9/tomcat-users.xml", TOMCAT_USERS)
    write(tree, "home/debian/panel/.env", "ADMIN_USER=root\nADMIN_PASSWORD=123456\n")


def by_path(result, check_id):
    return {f.evidence[0].path: f for f in result.findings if f.check_id == check_id}


def test_built_in_passwords_without_a_generator_fail(image_factory):
    result = image_factory.scan("passwords", bundled)
    builtin = by_path(result, "passwords.builtin")
    assert set(builtin) == {"/var/www/html/wp-config.php", "/etc/mysql/my.cnf", "/opt/shop/.env"}
    wp = builtin["/var/www/html/wp-config.php"]
    assert wp.severity == "high" and wp.evidence[0].line == 4 and wp.fix
    assert wp.evidence[0].text == "WordPress DB_PASSWORD for user 'wordpress': Wp-9****"
    assert builtin["/opt/shop/.env"].evidence[0].text == "DB_PASSWORD for user 'shop': App-****"
    default = by_path(result, "passwords.default")
    assert set(default) == {"/etc/tomcat9/tomcat-users.xml", "/home/debian/panel/.env"}
    assert default["/etc/tomcat9/tomcat-users.xml"].evidence[0].line == 6  # the commented user is not counted
    assert "(a well-known default)" in default["/home/debian/panel/.env"].evidence[0].text
    assert "passwords.generated" not in ids(result)
    # debian.cnf is the secrets family's (see passwords.py); it is not reported twice.
    secrets = {e.path for f in result.findings if f.check_id == "secrets.credential_file" for e in f.evidence}
    assert "/etc/mysql/debian.cnf" in secrets
    assert "/etc/mysql/debian.cnf" not in {
        e.path for f in result.findings if f.family == "passwords" for e in f.evidence
    }


def test_passwords_are_never_copied_into_the_result(image_factory):
    dumped = json.dumps(image_factory.scan("passwords", bundled).to_dict())
    for password in PASSWORDS[:3]:
        assert password not in dumped
    assert "password 'admin'" not in dumped and ": admin" not in dumped and "123456" not in dumped


def cloud_init_generator(tree: Path) -> None:
    bundled(tree)
    write(tree, "etc/redis/redis.conf", "bind 127.0.0.1\nrequirepass admin123\n")
    write(
        tree,
        "etc/cloud/cloud.cfg.d/90-passwords.cfg",
        "runcmd:\n"
        "  - [sh, -c, 'openssl rand -base64 18 > /root/db-password.txt']\n"
        '  - sed -i "s/^requirepass .*/requirepass $(openssl rand -hex 16)/" /etc/redis/redis.conf\n',
    )


def test_a_cloud_init_generator_turns_built_in_passwords_into_notes(image_factory):
    result = image_factory.scan("passwords-cloud-init", cloud_init_generator)
    notes = by_path(result, "passwords.generated")
    assert set(notes) >= {"/var/www/html/wp-config.php", "/etc/mysql/my.cnf", "/opt/shop/.env", "/etc/redis/redis.conf"}
    wp = notes["/var/www/html/wp-config.php"]
    assert wp.severity == "info" and "/etc/cloud/cloud.cfg.d/90-passwords.cfg runcmd" in wp.data["generator"]
    assert "passwords.builtin" not in ids(result)
    # A weak password stays a failure unless the generator rewrites that very file (redis.conf is rewritten).
    assert set(by_path(result, "passwords.default")) == {"/etc/tomcat9/tomcat-users.xml", "/home/debian/panel/.env"}
    from shelf.scanning.policy import Policy, is_blocking

    assert not is_blocking({"check_id": "passwords.generated", "family": "passwords"}, Policy())
    assert is_blocking({"check_id": "passwords.builtin", "family": "passwords"}, Policy())


UNIT = """[Unit]
Description=Generate the database password at first boot
ConditionFirstBoot=yes

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/first-boot-passwords
"""
SCRIPT = '#!/bin/sh\nset -e\npw=$(pwgen -s 20 1)\necho "$pw" | tee /root/db-password.txt\n'


def systemd_generator(enabled: bool):
    def mutate(tree: Path) -> None:
        write(tree, "var/www/html/wp-config.php", WP_CONFIG)
        write(tree, "etc/systemd/system/first-boot-passwords.service", UNIT)
        write(tree, "usr/local/sbin/first-boot-passwords", SCRIPT, 0o755)
        if enabled:
            link(tree, "etc/systemd/system/multi-user.target.wants/first-boot-passwords.service",
                 "/etc/systemd/system/first-boot-passwords.service")  # fmt: skip
        # Not generators: a runcmd writing a fixed value, and randomness that goes nowhere.
        write(tree, "etc/cloud/cloud.cfg.d/91-static.cfg", "runcmd:\n  - echo 'Passw0rd-fixed' > /root/pw.txt\n")
        write(tree, "etc/cloud/cloud.cfg.d/92-seed.cfg", "bootcmd:\n  - head -c 16 /dev/urandom\n")

    return mutate


def test_an_enabled_systemd_oneshot_generator_counts_a_disabled_one_does_not(image_factory):
    enabled = image_factory.scan("passwords-systemd", systemd_generator(True))
    (note,) = [f for f in enabled.findings if f.family == "passwords"]
    assert note.check_id == "passwords.generated"
    assert note.data["generator"].startswith("/etc/systemd/system/first-boot-passwords.service (enabled oneshot unit")
    disabled = image_factory.scan("passwords-systemd-off", systemd_generator(False))
    assert [f.check_id for f in disabled.findings if f.family == "passwords"] == ["passwords.builtin"]


def test_benign_image_has_no_password_findings(benign):
    assert not [i for i in ids(benign) if i.startswith("passwords.")]


def test_parsers():
    assert [(h.line, h.kind, h.user) for h in parse_mysql_cnf('[client]\nuser=admin\npassword="x y"\n[mysqld]\n')] == [
        (3, "MySQL password in [client]", "admin")
    ]
    assert not parse_mysql_cnf("[client]\npassword=\n")
    hits = parse_env("export DB_PASSWORD='abc def' # comment\nPASSWORD_RESET_URL=/reset\nSMTP_PASS=$SMTP\nX_PWD=~\n")
    assert [(h.kind, h.password) for h in hits] == [("DB_PASSWORD", "abc def")]
    (tomcat,) = parse_tomcat_users(TOMCAT_USERS)
    assert tomcat.weak and tomcat.user == "admin"
    assert _is_generator("openssl rand -base64 12 > /root/pw") and _is_generator("pwgen 16 1 | tee /root/pw")
    assert not _is_generator("openssl rand -base64 12") and not _is_generator("echo secret > /root/pw")
    assert not _is_generator("head -c 16 /dev/urandom 2>/dev/null")
