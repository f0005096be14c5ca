"""The byte-code settings a test passes on to the Python processes it starts with a clean environment.

Not a test module. ./dev test keeps Python's byte code in .venv/pycache (PYTHONPYCACHEPREFIX), so that parallel
workers do not each compile everything again; a process started with only PATH and COLUMNS would write
__pycache__ folders beside the sources instead, into the checkout the suite must not write to.
"""

from __future__ import annotations

import os

_SETTINGS = ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")


def python_cache_env() -> dict[str, str]:
    """This process's byte-code settings, to put in a clean environment: `env={**python_cache_env(), ...}`."""
    return {name: os.environ[name] for name in _SETTINGS if name in os.environ}
