"""Check families, one module each; importing this package registers every check (see registry.py).

The import order is the order families run and are reported in.
"""

from shelf.scanning.engine.checks import os_release  # noqa: F401, I001
from shelf.scanning.engine.checks import accounts, ssh, hygiene, secrets, firewall  # noqa: F401
from shelf.scanning.engine.checks import web, passwords, eol_software, malware  # noqa: F401
from shelf.scanning.engine.checks import services, permissions, logging  # noqa: F401
