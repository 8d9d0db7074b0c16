"""Where the CLI finds its server and token: SHELF_URL / SHELF_TOKEN, else the file `shelf login` wrote."""

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


def config_path() -> Path:
    if os.environ.get("SHELF_CONFIG"):
        return Path(os.environ["SHELF_CONFIG"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "shelf" / "config.json"


@dataclass
class Config:
    url: str
    token: str | None


def load() -> Config:
    stored: dict = {}
    path = config_path()
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError):
            stored = {}
    url = os.environ.get("SHELF_URL") or stored.get("url") or DEFAULT_URL
    token = os.environ.get("SHELF_TOKEN") or stored.get("token")
    return Config(url=url.rstrip("/"), token=token)


def save(*, url: str, token: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # The token is a credential: the file is readable by its owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"url": url.rstrip("/"), "token": token}, fh)
    os.chmod(path, 0o600)
    return path
