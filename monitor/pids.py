"""Whether a process exists on this host (health and the engines' start ask)."""

from __future__ import annotations

import os


def process_exists(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True
