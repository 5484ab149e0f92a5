"""Stage 3a of ingest: replace PII by keyed HMAC tokens; the raw value is never stored.

The key comes from ``GRAPHINTEL_PII_KEY`` (via :class:`graphintel.config.Settings`) or from the
workspace key file ``<workspace>/pii.key``, created with 32 random bytes on first use. The same
phone number gives the same token under the same key (so two sources link), and nothing without
the key can reverse it.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from pathlib import Path

import pandas as pd

from graphintel.config import Settings

__all__ = ["phone_tokens", "pii_key"]

_NON_DIGITS = re.compile(r"[^0-9]")


def pii_key(settings: Settings) -> bytes:
    """The HMAC key: from settings, else the workspace key file (created if missing)."""
    if settings.pii_key:
        return settings.pii_key
    path = Path(settings.workspace) / "pii.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode("ascii")


def phone_tokens(phones: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 tokens of phone numbers (digits only), ``None`` where there is no number.

    Example
    -------
    >>> t = phone_tokens(pd.Series(["010-1234-5678", "01012345678", None, ""]), b"k")
    >>> t[0] == t[1], t[0].startswith("pii:"), t[2], t[3]
    (True, True, None, None)
    """
    digits = (
        phones.astype(object)
        .where(phones.notna(), "")
        .astype(str)
        .str.replace(_NON_DIGITS, "", regex=True)
    )
    out = pd.Series([None] * len(phones), index=phones.index, dtype=object)
    mask = (digits != "").to_numpy()
    if mask.any():
        values = digits[mask].tolist()
        out[mask] = [
            "pii:" + hmac.digest(key, v.encode("ascii"), "sha256").hex()[:32] for v in values
        ]
    return out
