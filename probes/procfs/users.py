"""User names of this host (its passwd), for the records' ``user.name``."""

from __future__ import annotations

import functools
import pwd


@functools.lru_cache(maxsize=4096)
def user_name(uid: int) -> str:
    """The login name of a uid (cached), or the uid as text when unknown."""
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError, ValueError, TypeError):
        return str(uid)
