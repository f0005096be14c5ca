"""Why the tool refuses to start a case (the HTTP API answers 404 and 409 for these)."""

from __future__ import annotations


class UnknownCase(LookupError):
    pass


class CaseAlreadyRunning(RuntimeError):
    pass
