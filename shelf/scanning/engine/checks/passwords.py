"""Family `passwords`: built-in passwords of bundled software (database, cache, admin panels, applications).

    passwords.builtin    high  a password for bundled software is written in its configuration and no first-boot
                               generator is present
    passwords.generated  info  the same, but a first-boot generator writes a random password to a file: a note for the
                               reviewer to confirm the generator replaces this one (does not fail by default)
    passwords.default    high  a well-known default or weak password (admin/admin, root/123456, changeme, the user
                               name as the password, ...); fails even with a generator unless that generator names
                               the file (it rewrites it at first boot)

Where passwords are looked for: MySQL/MariaDB server option files (/etc/mysql/**, /etc/my.cnf*), application `.env`
files (under the web roots, /opt, /srv and the homes), wp-config.php, phpMyAdmin config.inc.php and Debian's
/etc/phpmyadmin/config-db.php, Redis `requirepass`/`masterauth`, Tomcat tomcat-users.xml, Grafana admin_password.

Not reported here: ~/.my.cnf and /etc/mysql/debian.cnf, which `secrets.credential_file` already reports. Debian's
debian.cnf is the package's local maintenance account: current MariaDB packaging leaves its password empty and
authenticates through the unix socket (nothing to report); older MySQL packaging generated a random password at
package installation, which then is identical in every server made from the image, so it is a built-in password and
the secrets family fails it.

A first-boot generator is positive evidence the standard asks for: a cloud-init `runcmd`/`bootcmd` (cloud.cfg and
cloud.cfg.d/*.cfg, cloud-init active), a cloud-init per-instance/per-once/per-boot script, an enabled systemd oneshot
unit, or /etc/rc.local whose command (or the script it runs) draws randomness (openssl rand, pwgen, /dev/urandom,
mkpasswd, ...) and writes it to a file. Passwords are never copied into evidence (`text.mask()`, as in secrets).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from shelf.scanning.engine import cloudinit
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence, Finding
from shelf.scanning.engine.registry import check
from shelf.scanning.engine.text import mask, numbered_lines
from shelf.scanning.engine.webroots import app_index, web_roots

KiB = 1024
CONF_LIMIT = 1024 * KiB
SCRIPT_LIMIT = 256 * KiB

# Well-known default and weak passwords of bundled software (compared case-insensitively).
DEFAULT_PASSWORDS = frozenset({
    "admin", "administrator", "password", "passw0rd", "p@ssw0rd", "p@ssword", "password1", "password123", "pass",
    "123456", "1234567", "12345678", "123456789", "1234567890", "12345", "1234", "111111", "000000", "654321",
    "root", "toor", "root123", "admin123", "admin@123", "admin888", "changeme", "change_me", "changeit", "secret",
    "default", "test", "test123", "guest", "qwerty", "letmein", "abc123", "mysql", "redis", "tomcat", "manager",
    "s3cret", "welcome", "password_here", "your_password", "yourpassword", "demo", "user",
})  # fmt: skip
PLACEHOLDERS = frozenset({"", "null", "none", "nil", "~", "false", "''", '""'})

RANDOM_SOURCE = re.compile(
    r"openssl\s+rand|\bpwgen\b|/dev/u?random|\bmkpasswd\b|\bmakepasswd\b|\bapg\s|\bpwmake\b|gpg\s+--gen-random|"
    r"secrets\.token_|\bSystemRandom\b|\buuidgen\b|random_bytes\s*\(|\bgenerate-password\b"
)
WRITES_FILE = re.compile(r"(?<![<2&])>{1,2}\s*[\"']?[/$~\w]|\btee\b|\bsed\s+(-\w+\s+)*-i|\binstall\s+-|\bcat\s*>")


@dataclass
class Hit:
    line: int
    kind: str
    user: str | None
    password: str

    @property
    def weak(self) -> bool:
        value = self.password.lower()
        return value in DEFAULT_PASSWORDS or (self.user is not None and value == self.user.lower())

    def evidence(self, path: str) -> Evidence:
        who = f" for user {self.user!r}" if self.user else ""
        weak = " (a well-known default)" if self.weak else ""
        return Evidence(path, self.line, f"{self.kind}{who}: {mask(self.password)}{weak}")


def _unquote(value: str) -> str:
    """A config value without its quotes or a trailing ` # comment`."""
    value = value.strip()
    if value[:1] in ("'", '"') and (end := value.find(value[0], 1)) > 0:
        return value[1:end]
    return re.split(r"\s+[#;]", value, maxsplit=1)[0].strip()


def _real(value: str) -> bool:
    v = value.strip()
    return (
        v.lower() not in PLACEHOLDERS
        and not v.startswith(("${", "$(", "%(", "<", "{{"))
        and not re.fullmatch(r"\$\w+", v)
    )


# ---- parsers: text -> hits ----------------------------------------------------------------------------


def parse_mysql_cnf(text: str) -> list[Hit]:
    hits, section, user = [], "", None
    for n, line in numbered_lines(text):
        if m := re.match(r"^\s*\[([^\]]+)\]", line):
            section, user = m.group(1).strip().lower(), None
            continue
        if m := re.match(r"^\s*user\s*=\s*(.+)$", line):
            user = _unquote(m.group(1))
        m = re.match(r"^\s*password\s*=\s*(.*)$", line)
        if m and _real(value := _unquote(m.group(1))):
            hits.append(Hit(n, f"MySQL password in [{section}]", user or "root", value))
    return hits


ENV_KEY = re.compile(r"^\s*(?:export\s+)?([A-Za-z0-9_]*(?:PASSWORD|PASSWD|_PASS|_PWD))\s*=\s*(.*)$")


def parse_env(text: str) -> list[Hit]:
    hits = []
    users = {m.group(1).upper(): _unquote(m.group(2)) for _, line in numbered_lines(text)
             if (m := re.match(r"^\s*(?:export\s+)?([A-Za-z0-9_]*USER(?:NAME)?)\s*=\s*(.*)$", line))}  # fmt: skip
    for n, line in numbered_lines(text):
        m = ENV_KEY.match(line)
        if m and _real(value := _unquote(m.group(2))):
            key = m.group(1).upper()
            prefix = re.sub(r"_?(PASSWORD|PASSWD|PASS|PWD)$", "", key)
            user = users.get(f"{prefix}_USERNAME") or users.get(f"{prefix}_USER")
            hits.append(Hit(n, key, user, value))
    return hits


def parse_wp_config(text: str) -> list[Hit]:
    user = None
    if m := re.search(r"define\s*\(\s*['\"]DB_USER['\"]\s*,\s*['\"]([^'\"]*)['\"]", text):
        user = m.group(1)
    return [
        Hit(n, "WordPress DB_PASSWORD", user, m.group(1))
        for n, line in numbered_lines(text)
        if (m := re.search(r"define\s*\(\s*['\"]DB_PASSWORD['\"]\s*,\s*['\"]([^'\"]*)['\"]", line))
        and _real(m.group(1))
    ]


def parse_phpmyadmin(text: str) -> list[Hit]:
    hits = []
    for n, line in numbered_lines(text):
        m = re.search(r"\$cfg\['Servers'\]\[\$i\]\['(password|controlpass)'\]\s*=\s*['\"]([^'\"]*)['\"]", line)
        if m and _real(m.group(2)):
            hits.append(Hit(n, f"phpMyAdmin {m.group(1)}", None, m.group(2)))
        m = re.search(r"^\s*\$dbpass\s*=\s*['\"]([^'\"]*)['\"]", line)
        if m and _real(m.group(1)):
            hits.append(Hit(n, "phpMyAdmin database password ($dbpass)", "phpmyadmin", m.group(1)))
    return hits


def parse_redis(text: str) -> list[Hit]:
    return [
        Hit(n, f"Redis {m.group(1)}", None, value)
        for n, line in numbered_lines(text)
        if (m := re.match(r"^\s*(requirepass|masterauth)\s+(.+)$", line)) and _real(value := _unquote(m.group(2)))
    ]


def _blank_xml_comments(text: str) -> str:
    return re.sub(r"<!--.*?-->", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


def parse_tomcat_users(text: str) -> list[Hit]:
    hits = []
    for n, line in numbered_lines(_blank_xml_comments(text)):
        for m in re.finditer(r"<user\b[^>]*>", line):
            tag = m.group(0)
            pw = re.search(r"\bpassword=\"([^\"]*)\"", tag)
            user = re.search(r"\busername=\"([^\"]*)\"", tag)
            if pw and _real(pw.group(1)):
                hits.append(Hit(n, "Tomcat manager password", user.group(1) if user else None, pw.group(1)))
    return hits


def parse_grafana(text: str) -> list[Hit]:
    hits, user = [], "admin"
    for n, line in numbered_lines(text):
        if m := re.match(r"^\s*admin_user\s*=\s*(\S+)", line):
            user = m.group(1)
        m = re.match(r"^\s*admin_password\s*=\s*(.+)$", line)
        if m and _real(value := _unquote(m.group(1))):
            hits.append(Hit(n, "Grafana admin_password", user, value))
    return hits


# (glob patterns, parser) for files at fixed places.
FIXED_FILES = (
    (("/etc/mysql/my.cnf", "/etc/mysql/*.cnf", "/etc/mysql/*.d/*.cnf", "/etc/my.cnf", "/etc/my.cnf.d/*.cnf",
      "/www/server/mysql/my.cnf", "/usr/local/mysql/my.cnf"), parse_mysql_cnf),
    (("/etc/phpmyadmin/config.inc.php", "/etc/phpmyadmin/config-db.php", "/usr/share/phpmyadmin/config.inc.php",
      "/etc/phpMyAdmin/config.inc.php"), parse_phpmyadmin),
    (("/etc/redis/*.conf", "/etc/redis.conf", "/etc/redis/*/*.conf", "/www/server/redis/redis.conf",
      "/usr/local/redis/*.conf", "/usr/local/etc/redis.conf"), parse_redis),
    (("/etc/tomcat*/tomcat-users.xml", "/opt/tomcat*/conf/tomcat-users.xml", "/usr/local/tomcat*/conf/tomcat-users.xml",
      "/usr/share/tomcat*/conf/tomcat-users.xml"), parse_tomcat_users),
    (("/etc/grafana/grafana.ini",), parse_grafana),
)  # fmt: skip
NOT_HERE = ("/etc/mysql/debian.cnf",)  # reported by secrets.credential_file (see the module docstring)
BY_NAME = {
    ".env": parse_env,
    "wp-config.php": parse_wp_config,
    "config.inc.php": parse_phpmyadmin,
    "config-db.php": parse_phpmyadmin,
}


def config_files(ctx: ScanContext) -> Iterator[tuple[str, object]]:
    seen: set[str] = set()
    for patterns, parser in FIXED_FILES:
        for pattern in patterns:
            for path in ctx.glob(pattern):
                if path not in seen and path not in NOT_HERE and ctx.is_file(path):
                    seen.add(path)
                    yield path, parser
    homes = tuple(home + "/" for _, home in ctx.homes())
    places = tuple(r + "/" for r in (*web_roots(ctx), "/opt", "/srv", "/home")) + homes
    for path in app_index(ctx).files:
        parser = BY_NAME.get(posixpath.basename(path))
        if parser and path not in seen and path.startswith(places):
            seen.add(path)
            yield path, parser


# ---- first-boot generators ----------------------------------------------------------------------------


@dataclass
class Generator:
    where: str
    text: str = field(repr=False)

    def mentions(self, path: str) -> bool:
        return path in self.text or posixpath.basename(path) in self.text


def _is_generator(text: str) -> bool:
    return any(RANDOM_SOURCE.search(line) and WRITES_FILE.search(line) for line in text.splitlines()) or bool(
        RANDOM_SOURCE.search(text) and WRITES_FILE.search(text)
    )


def _with_scripts(ctx: ScanContext, command: str) -> str:
    """The command and the scripts it names (one level), as the text a generator is recognised in."""
    parts = [command]
    for path in re.findall(r"(?<![\w.])(/[\w.+@/-]+)", command)[:5]:
        if path.startswith(("/dev/", "/proc/", "/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/")) and not path.startswith(
            ("/usr/local/",)
        ):
            continue
        if ctx.is_file(path):
            parts.append(ctx.read_text(path, SCRIPT_LIMIT) or "")
    return "\n".join(parts)


def _cloud_commands(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    commands = []
    for item in value:
        if isinstance(item, str):
            commands.append(item)
        elif isinstance(item, list):
            commands.append(" ".join(str(x) for x in item))
    return commands


def generators(ctx: ScanContext) -> list[Generator]:
    if "password_generators" in ctx.cache:
        return ctx.cache["password_generators"]
    import yaml

    found: list[Generator] = []
    ci = cloudinit.cached_state(ctx)
    if ci.active:
        files = ["/etc/cloud/cloud.cfg", *(f"/etc/cloud/cloud.cfg.d/{n}" for n in ctx.listdir("/etc/cloud/cloud.cfg.d")
                                          if n.endswith(".cfg"))]  # fmt: skip
        for path in files:
            text = ctx.read_text(path, CONF_LIMIT)
            if not text:
                continue
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            if not isinstance(data, dict):
                continue
            for module in ("bootcmd", "runcmd"):
                for command in _cloud_commands(data.get(module)):
                    full = _with_scripts(ctx, command)
                    if _is_generator(full):
                        found.append(Generator(f"{path} {module}: {command[:120]}", full))
        for kind in ("per-instance", "per-once", "per-boot"):
            directory = f"/var/lib/cloud/scripts/{kind}"
            for name in ctx.listdir(directory):
                text = ctx.read_text(f"{directory}/{name}", SCRIPT_LIMIT) or ""
                if _is_generator(text):
                    found.append(Generator(f"{directory}/{name} (cloud-init {kind} script)", text))
    for unit, path in _enabled_units(ctx):
        text = ctx.read_text(path, SCRIPT_LIMIT) or ""
        if not re.search(r"^\s*Type\s*=\s*oneshot\s*$", text, re.M):
            continue
        commands = [
            m.group(1).lstrip("-@:+!") for m in re.finditer(r"^\s*ExecStart(?:Pre|Post)?\s*=\s*(.+)$", text, re.M)
        ]
        full = "\n".join(_with_scripts(ctx, c) for c in commands)
        if _is_generator(full):
            found.append(Generator(f"{path} (enabled oneshot unit {unit})", full))
    if ctx.is_file("/etc/rc.local"):
        text = ctx.read_text("/etc/rc.local", SCRIPT_LIMIT) or ""
        full = "\n".join(_with_scripts(ctx, line) for line in text.splitlines() if line.strip() and line[0] != "#")
        if _is_generator(full):
            found.append(Generator("/etc/rc.local (start-up script)", full))
    ctx.cache["password_generators"] = found
    return found


def _enabled_units(ctx: ScanContext) -> list[tuple[str, str]]:
    units: dict[str, str] = {}
    for base in ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"):
        for wants in ctx.listdir(base):
            if not wants.endswith((".wants", ".requires")):
                continue
            for name in ctx.listdir(f"{base}/{wants}"):
                if not name.endswith(".service") or name in units:
                    continue
                for unit_dir in ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"):
                    path = f"{unit_dir}/{name}"
                    if ctx.is_file(path):
                        units[name] = path
                        break
    return sorted(units.items())


# ---- the check ----------------------------------------------------------------------------------------

FIX_BUILTIN = (
    "Do not ship a fixed password: generate one at first boot (for example a cloud-init runcmd or a systemd oneshot "
    "unit running `openssl rand -base64 18`), set it in the software, and leave it for the buyer in a root-only file "
    "such as /root/credentials.txt, unique per server."
)


@check("passwords")
def builtin_passwords(ctx: ScanContext) -> Iterator[Finding]:
    gens: list[Generator] | None = None
    for path, parser in config_files(ctx):
        text = ctx.read_text(path, CONF_LIMIT)
        if not text or "\x00" in text[:4096]:
            continue
        hits: list[Hit] = parser(text)  # type: ignore[operator]
        if not hits:
            continue
        if gens is None:
            gens = generators(ctx)
        kinds = list(dict.fromkeys(h.kind for h in hits))
        weak = [h for h in hits if h.weak]
        covering = [g for g in gens if g.mentions(path)]
        data = {"kinds": kinds, "passwords": len(hits), "generators": [g.where for g in gens][:5]}
        if weak and not covering:
            yield Finding(
                check_id="passwords.default",
                severity="high",
                title=f"A well-known default or weak password is set in {path}",
                evidence=[h.evidence(path) for h in weak][:20],
                fix="Replace the default password; " + FIX_BUILTIN[0].lower() + FIX_BUILTIN[1:],
                family="passwords",
                data={**data, "weak": len(weak)},
            )
            hits = [h for h in hits if not h.weak]
            if not hits:
                continue
        evidence = [h.evidence(path) for h in hits][:20]
        if gens:
            where = (covering or gens)[0].where
            yield Finding(
                check_id="passwords.generated",
                severity="info",
                title=f"{path} holds a built-in password; a first-boot generator is present ({where})",
                evidence=[*evidence, Evidence(where.split(" ")[0], None, f"first-boot generator: {where}")][:20],
                fix="Nothing to do if the generator replaces this password at first boot; otherwise: " + FIX_BUILTIN,
                family="passwords",
                data={**data, "generator": where},
            )
        else:
            yield Finding(
                check_id="passwords.builtin",
                severity="high",
                title=f"A built-in password ({', '.join(kinds[:3])}) is set in {path}, and nothing generates a new "
                "one at first boot",
                evidence=evidence,
                fix=FIX_BUILTIN,
                family="passwords",
                data=data,
            )
