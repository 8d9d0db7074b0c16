"""The web servers' loaded configuration files, their document roots, and the application files under them.

Facts of the image that several families judge (`web`, `passwords`, `malware`): computed once per scan and kept
in the scan context's cache. Web roots are nginx `root` and Apache `DocumentRoot` values plus /var/www (and
/www/wwwroot of the BT panel), read from the servers' configuration as the servers load it (nginx.py, apache.py:
includes followed, files they do not load left out).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shelf.scanning.engine import apache, nginx

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

KiB = 1024
CONF_LIMIT = 1024 * KiB
DEFAULT_WEB_ROOTS = ("/var/www", "/www/wwwroot", "/usr/share/nginx/html")
VCS_DIRS = (".git", ".svn", ".hg", ".bzr")
# Directories not entered when looking for application configuration: third-party code and caches.
PRUNE_APP = frozenset({"node_modules", "vendor", "site-packages", "dist-packages", "__pycache__", ".cache", ".npm",
                       ".cargo", ".rustup", ".venv", "venv", *VCS_DIRS})  # fmt: skip
APP_NAMES = frozenset({".env", ".flaskenv", "settings.py", "local_settings.py", "wp-config.php", "config.inc.php",
                       ".htaccess", "config-db.php"})  # fmt: skip
IGNORED_SUFFIXES = (".dpkg-dist", ".dpkg-old", ".dpkg-new", ".dpkg-bak", ".ucf-dist", ".ucf-old", ".rpmnew", ".rpmsave",
                    ".bak", ".orig", ".save", "~", ".swp", ".sample", ".example", ".dist")  # fmt: skip
MAX_APP_ENTRIES = 200_000


def ignored(path: str) -> bool:
    """A configuration file no server loads: a package manager's or editor's copy, or one in `*-available/`."""
    return path.endswith(IGNORED_SUFFIXES) or "-available/" in path


def read_config(ctx: ScanContext, path: str) -> str:
    """A web configuration file's text ("" when absent), bounded."""
    return ctx.read_text(path, CONF_LIMIT) or ""


def web_roots(ctx: ScanContext) -> list[str]:
    """Document roots that exist in the image, outermost only, in a stable order."""
    if "web_roots" in ctx.cache:
        return ctx.cache["web_roots"]
    found: list[str] = []
    found += [d.args[0] for d in nginx.config(ctx).find("root") if d.args and "$" not in d.args[0]]
    found += [d.args[0] for d in apache.config(ctx).find("DocumentRoot") if d.args and "$" not in d.args[0]]
    found.extend(DEFAULT_WEB_ROOTS)
    roots: list[str] = []
    for root in found:
        root = posixpath.normpath(root)
        if root in ("/", "/usr", "/etc") or not root.startswith("/") or root in roots:
            continue
        if ctx.is_dir(root) and ctx.readlink(root) is None:
            roots.append(root)
    outermost = [r for r in roots if not any(o != r and r.startswith(o.rstrip("/") + "/") for o in roots)]
    ctx.cache["web_roots"] = outermost
    return outermost


@dataclass
class AppIndex:
    """Application files (by name) under the web roots, /opt, /srv and the homes, and VCS directories in web roots."""

    files: list[str] = field(default_factory=list)
    vcs: list[str] = field(default_factory=list)


def app_index(ctx: ScanContext) -> AppIndex:
    if "web_app_index" in ctx.cache:
        return ctx.cache["web_app_index"]
    index = AppIndex()
    roots = web_roots(ctx)
    seen: set[str] = set()
    count = 0
    for root in (*roots, "/opt", "/srv", *(home for _, home in ctx.homes())):
        in_web = root in roots
        for entry in ctx.walk(root, max_depth=10, prune=lambda name, _path: name in PRUNE_APP):
            count += 1
            if count > MAX_APP_ENTRIES:
                ctx.incomplete(f"stopped after {MAX_APP_ENTRIES} entries under the web roots, /opt, /srv and homes")
                ctx.cache["web_app_index"] = index
                return index
            if entry.path in seen:
                continue
            seen.add(entry.path)
            name = posixpath.basename(entry.path)
            if entry.is_dir:
                if in_web and name in VCS_DIRS:
                    index.vcs.append(entry.path)
            elif name in APP_NAMES or (
                name.endswith(".py") and posixpath.basename(posixpath.dirname(entry.path)) == "settings"
            ):
                index.files.append(entry.path)
    ctx.cache["web_app_index"] = index
    return index
