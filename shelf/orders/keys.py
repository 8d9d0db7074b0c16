"""The buyer's login key: a real OpenSSH public key, parsed, never a password.

`cryptography` decodes the base64 blob and the key inside it (an RSA modulus, an Ed25519 point, an ECDSA point
on its curve), and checks that the type written before the blob is the one inside it. A private key pasted by
mistake is recognised and refused with its own message, so nobody sends one to the server by accident.
"""

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key
from django.utils.translation import gettext as _

from shelf.errors import Violation

KEY_MAX_LENGTH = 16_000  # an RSA-16384 key is about 2,800 characters; this leaves room for a long comment
RSA_MIN_BITS = 2048
ACCEPTED_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
)


@dataclass(frozen=True)
class PublicKey:
    key_type: str
    text: str  # "type base64 [comment]", one line, as authorized_keys takes it
    fingerprint: str  # SHA256:… as ssh-keygen -l prints it


def parse_public_key(raw: str | None, *, field: str = "ssh_public_key") -> tuple[PublicKey | None, list[Violation]]:
    """The key in one authorized_keys line, or the violations saying what is wrong with it."""
    text = " ".join((raw or "").split())
    if not text:
        return None, [
            Violation(field, "required", _("Paste your OpenSSH public key (for example ~/.ssh/id_ed25519.pub)."))
        ]
    if len(text) > KEY_MAX_LENGTH:
        return None, [
            Violation(
                field, "too_long", _("An SSH public key is at most %(max)d characters.") % {"max": KEY_MAX_LENGTH}
            )
        ]
    if "PRIVATE KEY" in text:
        return None, [
            Violation(
                field,
                "private_key",
                _("This is a private key: never share it. Paste the public key, the .pub file next to it."),
            )
        ]
    parts = text.split(" ")
    if len(parts) < 2 or parts[0] not in ACCEPTED_TYPES:
        return None, [
            Violation(
                field,
                "invalid",
                _("An OpenSSH public key starts with its type (%(types)s) followed by the key in base64.")
                % {"types": ", ".join(ACCEPTED_TYPES)},
            )
        ]
    key_type, blob = parts[0], parts[1]
    try:
        key = load_ssh_public_key(f"{key_type} {blob}".encode())
    except (ValueError, UnsupportedAlgorithm):
        return None, [
            Violation(field, "invalid", _("This is not a valid OpenSSH public key: its key data does not decode."))
        ]
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < RSA_MIN_BITS:
        return None, [
            Violation(
                field,
                "weak_key",
                _("This RSA key has %(bits)d bits; use at least %(min)d (or an Ed25519 key).")
                % {"bits": key.key_size, "min": RSA_MIN_BITS},
            )
        ]
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        return None, [Violation(field, "invalid", _("This key type is not accepted."))]
    digest = hashlib.sha256(base64.b64decode(blob)).digest()
    fingerprint = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
    return PublicKey(key_type=key_type, text=text, fingerprint=fingerprint), []
