"""Family `web`: the web environment rules of the image security standard.

    web.directory_listing  medium  nginx `autoindex on`, Apache `Options Indexes` (effective per section, in the order
                                    Apache reads its enabled configuration) or `.htaccess` enabling Indexes in a web root
                                    where AllowOverride lets httpd apply it
    web.vcs_exposed        high    a `.git`/`.svn`/`.hg`/`.bzr` directory inside a web root (source and history served)
    web.root_user          high    nginx `user root`, Apache `User root` (directly or through APACHE_RUN_USER in
                                    envvars), a PHP-FPM pool with `user = root`
    web.debug              medium  PHP `display_errors = On` for the web SAPIs (fpm, apache2, cgi; not cli), a pool
                                    flag or mod_php's `php_admin_flag display_errors on` in Apache's configuration, Django `DEBUG = True`, Laravel `APP_DEBUG=true`, WordPress `WP_DEBUG` true,
                                    Flask `FLASK_ENV=development` / `FLASK_DEBUG=1`

Web roots and the application-file index come from `webroots.py` (shared with `passwords` and `malware`); the
servers' configuration is read as the servers read it, by `nginx.py` (crossplane's lexer, blocks, includes) and
`apache.py` (continuations, case-insensitive names, Include), so a directive counts however it is written and
configuration files the servers do not load are not judged.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from typing import Any

from shelf.scanning.engine import apache, nginx
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence, Finding
from shelf.scanning.engine.registry import check
from shelf.scanning.engine.text import numbered_lines
from shelf.scanning.engine.webroots import app_index, ignored, read_config, web_roots


def _clip(text: str, limit: int = 160) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _strip_comment(line: str) -> str:
    return "" if line.lstrip().startswith("#") else line


def _finding(check_id: str, severity: str, title: str, evidence: list[Evidence], fix: str, **data: Any) -> Finding:
    return Finding(check_id=check_id, severity=severity, title=title, evidence=evidence[:20], fix=fix, family="web",
                   data=data)  # fmt: skip


# ---- directory listing --------------------------------------------------------------------------------


def _indexes_after(current: bool, words: list[str]) -> bool:
    """Apache's Options merge: words without +/- replace the set, +X/-X change it (`All` includes Indexes)."""
    if words and all(w[0] not in "+-" for w in words):
        return any(w.lower() in ("indexes", "all") for w in words)
    for w in words:
        if w.lower() in ("+indexes", "+all"):
            current = True
        elif w.lower() in ("-indexes", "-all"):
            current = False
    return current


def apache_listing(ctx: ScanContext) -> list[Evidence]:
    """Sections whose effective Options enable Indexes (the last Options of each section wins, in reading order)."""
    state: dict[tuple[str, ...], tuple[bool, Evidence]] = {}
    for d in apache.config(ctx).find("Options"):
        before = state.get(d.sections, (False, None))[0]
        state[d.sections] = (_indexes_after(before, list(d.args)), Evidence(d.path, d.line, _clip(d.text)))
    return [evidence for enabled, evidence in state.values() if enabled]


@check("web")
def directory_listing(ctx: ScanContext) -> Iterator[Finding]:
    evidence: list[Evidence] = []
    seen: set[tuple[str, int]] = set()
    for d in nginx.config(ctx).find("autoindex"):  # a snippet included by several servers is shown once
        if d.args and d.args[0].lower() == "on" and (d.path, d.line) not in seen:
            seen.add((d.path, d.line))
            evidence.append(Evidence(d.path, d.line, _clip(d.text())))
    evidence += apache_listing(ctx)
    apache_config = apache.config(ctx)
    for path in app_index(ctx).files:
        # An .htaccess counts only where httpd reads it (AllowOverride); nginx never does.
        if posixpath.basename(path) != ".htaccess" or not apache.reads_htaccess_options(apache_config, path):
            continue
        for d in apache.parse_text(read_config(ctx, path), path):
            if d.name == "options" and _indexes_after(False, list(d.args)):
                evidence.append(Evidence(path, d.line, _clip(d.text)))
    if evidence:
        yield _finding(
            "web.directory_listing",
            "medium",
            "Directory listing is enabled: visitors can browse the files of the web server",
            evidence,
            "Turn listing off: `autoindex off;` in nginx, `Options -Indexes` (or drop `Indexes` from Options) in "
            "Apache and .htaccess files, then rebuild the image.",
            places=len(evidence),
        )


# ---- version control directories in web roots ---------------------------------------------------------


@check("web")
def vcs_exposed(ctx: ScanContext) -> Iterator[Finding]:
    for path in app_index(ctx).vcs:
        kind = posixpath.basename(path)
        yield _finding(
            "web.vcs_exposed",
            "high",
            f"A {kind} directory is inside a web root: source code and history can be downloaded",
            [Evidence(path, None, f"{kind} directory under a document root")],
            f"Delete {path} from the image (deploy with `git archive` or an export, not a checkout), or keep "
            "repositories outside the document root.",
            root=posixpath.dirname(path),
        )


# ---- web services running as root ---------------------------------------------------------------------


def _apache_envvars(ctx: ScanContext) -> dict[str, tuple[str, Evidence]]:
    values: dict[str, tuple[str, Evidence]] = {}
    path = "/etc/apache2/envvars"
    for number, raw in numbered_lines(read_config(ctx, path)):
        m = re.match(r"^\s*(?:export\s+)?(APACHE_RUN_USER|APACHE_RUN_GROUP)=[\"']?([^\"'\s]*)", _strip_comment(raw))
        if m:
            values[m.group(1)] = (m.group(2), Evidence(path, number, _clip(raw)))
    return values


FPM_POOLS = (
    "/etc/php/*/fpm/pool.d/*.conf",
    "/etc/php/*/fpm/php-fpm.conf",
    "/etc/php-fpm.conf",
    "/etc/php-fpm.d/*.conf",
    "/etc/opt/remi/*/php-fpm.d/*.conf",
    "/usr/local/etc/php-fpm.conf",
    "/usr/local/etc/php-fpm.d/*.conf",
    "/usr/local/php*/etc/php-fpm.conf",
    "/usr/local/php*/etc/php-fpm.d/*.conf",
    "/www/server/php/*/etc/php-fpm.conf",
)


def fpm_pool_files(ctx: ScanContext) -> list[str]:
    files: list[str] = []
    for pattern in FPM_POOLS:
        files += [p for p in ctx.glob(pattern) if p not in files and not ignored(p) and ctx.is_file(p)]
    return files


@check("web")
def root_user(ctx: ScanContext) -> Iterator[Finding]:
    evidence: list[Evidence] = []
    servers: list[str] = []
    for d in nginx.config(ctx).main("user"):  # main context only: nginx refuses `user` inside a block
        if d.args and d.args[0] in ("root", "0"):
            evidence.append(Evidence(d.path, d.line, _clip(d.text())))
            servers.append("nginx")
    envvars = _apache_envvars(ctx)
    for d in apache.config(ctx).find("User"):
        user = d.args[0] if d.args else ""
        if user in ("root", "#0"):
            evidence.append(Evidence(d.path, d.line, _clip(d.text)))
            servers.append("apache")
        elif user == "${APACHE_RUN_USER}" and envvars.get("APACHE_RUN_USER", ("",))[0] in ("root", "#0"):
            evidence += [Evidence(d.path, d.line, _clip(d.text)), envvars["APACHE_RUN_USER"][1]]
            servers.append("apache")
    for path in fpm_pool_files(ctx):
        for number, raw in numbered_lines(read_config(ctx, path)):
            if re.match(r"^\s*user\s*=\s*[\"']?(root|0)[\"']?\s*$", _strip_comment(raw.split(";")[0])):
                evidence.append(Evidence(path, number, _clip(raw)))
                servers.append("php-fpm")
    if evidence:
        yield _finding(
            "web.root_user",
            "high",
            f"Web services run as root: {', '.join(dict.fromkeys(servers))}",
            evidence,
            "Run the web server and PHP-FPM pools as an unprivileged user (`user www-data;` in nginx, "
            "APACHE_RUN_USER=www-data, `user = www-data` in each pool), then rebuild the image.",
            servers=list(dict.fromkeys(servers)),
        )


# ---- debug modes --------------------------------------------------------------------------------------

PHP_WEB_INIS = (
    # (php.ini, its scan directory); later assignments win, like PHP reads them.
    ("/etc/php/*/fpm/php.ini", "conf.d"),
    ("/etc/php/*/apache2/php.ini", "conf.d"),
    ("/etc/php/*/cgi/php.ini", "conf.d"),
    ("/etc/php.ini", "/etc/php.d"),
    ("/usr/local/etc/php/php.ini", "conf.d"),
    ("/usr/local/php*/etc/php.ini", "php.d"),
    ("/www/server/php/*/etc/php.ini", "php.d"),
)
ON = ("on", "1", "true", "yes", "stdout")
PHP_APACHE = ("php_flag", "php_admin_flag", "php_value", "php_admin_value")


def _php_display_errors(ctx: ScanContext) -> list[Evidence]:
    evidence = []
    for pattern, scan_dir in PHP_WEB_INIS:
        for ini in ctx.glob(pattern):
            directory = scan_dir if scan_dir.startswith("/") else posixpath.join(posixpath.dirname(ini), scan_dir)
            last: tuple[str, Evidence] | None = None
            for path in [ini, *(f"{directory}/{n}" for n in ctx.listdir(directory) if n.endswith(".ini"))]:
                for number, raw in numbered_lines(read_config(ctx, path)):
                    m = re.match(r"^\s*display_errors\s*=\s*[\"']?(\w+)", raw)
                    if m:
                        last = (m.group(1).lower(), Evidence(path, number, _clip(raw)))
            if last and last[0] in ON:
                evidence.append(last[1])
    for path in fpm_pool_files(ctx):
        for number, raw in numbered_lines(read_config(ctx, path)):
            m = re.match(r"^\s*php_(?:admin_)?(?:flag|value)\[display_errors\]\s*=\s*(\w+)", raw)
            if m and m.group(1).lower() in ON:
                evidence.append(Evidence(path, number, _clip(raw)))
    for d in apache.config(ctx).directives:  # mod_php reads its settings from Apache's configuration too
        if d.name in PHP_APACHE and len(d.args) > 1 and d.args[0] == "display_errors" and d.args[1].lower() in ON:
            evidence.append(Evidence(d.path, d.line, _clip(d.text)))
    return evidence


DEBUG_PATTERNS: tuple[tuple[str, Callable[[str], bool], re.Pattern[str]], ...] = (
    ("Django DEBUG", lambda p: p.endswith(".py"), re.compile(r"^DEBUG\s*=\s*True\b")),
    ("Laravel APP_DEBUG", lambda p: p.endswith("/.env"), re.compile(r"^\s*APP_DEBUG\s*=\s*[\"']?(true|1)\b", re.I)),
    (
        "WordPress WP_DEBUG",
        lambda p: p.endswith("/wp-config.php"),
        re.compile(r"^\s*define\s*\(\s*[\"']WP_DEBUG[\"']\s*,\s*(true|1)\s*\)", re.I),
    ),
    (
        "Flask development mode",
        lambda p: p.endswith(("/.env", "/.flaskenv")),
        re.compile(r"^\s*(?:export\s+)?(FLASK_ENV\s*=\s*[\"']?development|FLASK_DEBUG\s*=\s*[\"']?(1|true))\b", re.I),
    ),
)
UNIT_FLASK = re.compile(r"^\s*Environment\s*=.*\b(FLASK_ENV=development|FLASK_DEBUG=(1|true))\b", re.I)


@check("web")
def debug(ctx: ScanContext) -> Iterator[Finding]:
    evidence = _php_display_errors(ctx)
    kinds = ["PHP display_errors"] if evidence else []
    roots = web_roots(ctx)
    for path in app_index(ctx).files:
        if path.endswith(".py") and not path.startswith(tuple(r + "/" for r in (*roots, "/opt", "/srv"))):
            continue  # Django settings count where a site is served from, not in someone's scratch directory
        text = None
        for kind, applies, pattern in DEBUG_PATTERNS:
            if not applies(path):
                continue
            text = text if text is not None else read_config(ctx, path)
            for number, raw in numbered_lines(text):
                if pattern.search(raw):
                    evidence.append(Evidence(path, number, _clip(raw)))
                    kinds.append(kind)
    for base in ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"):
        for name in ctx.listdir(base):
            path = f"{base}/{name}"
            if name.endswith(".service") and ctx.is_file(path):
                for number, raw in numbered_lines(read_config(ctx, path)):
                    if UNIT_FLASK.search(raw):
                        evidence.append(Evidence(path, number, _clip(raw)))
                        kinds.append("Flask development mode")
    if evidence:
        kinds = list(dict.fromkeys(kinds))
        yield _finding(
            "web.debug",
            "medium",
            f"Debug mode is on: {', '.join(kinds)}",
            evidence,
            "Turn debug output off for production: `display_errors = Off` in the web SAPIs' php.ini, `DEBUG = False` "
            "in Django settings, `APP_DEBUG=false` in Laravel's .env, `define('WP_DEBUG', false)` in wp-config.php, "
            "no FLASK_ENV=development / FLASK_DEBUG.",
            kinds=kinds,
        )
