"""Names from files that become parts of paths (a run directory, a lock file, a reusable state's file)."""

from __future__ import annotations

import re

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_PATH_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
SAFE_ALPHABET = "letters, digits, '_', '.' and '-' (at most 64, starting with a letter or digit)"


def unsafe_name(value: str) -> str | None:
    """Why `value` cannot be a file name benchctl makes from it (a '/' or '..' would leave the folder it is
    meant for), or None when it can."""
    if SAFE_NAME.fullmatch(value):
        return None
    return f"{value!r} becomes part of a file name: use only {SAFE_ALPHABET}"


def path_part(value: str) -> bool:
    """`value` is one file name in its folder (no '/', no leading '.'), whatever its length."""
    return _PATH_PART.fullmatch(value) is not None
