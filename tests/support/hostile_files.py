"""Hostile and broken YAML files: the bytes of each and the line its error must name.

Shared by tests/config/test_hostile_files.py and benchmarks/hostile_files.py (which measures the time and peak
memory each takes to refuse).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hostile:
    name: str
    content: bytes
    line: int | None  # the line the error names
    fragment: str  # a piece of the error message


def _laughs() -> bytes:
    """The "billion laughs": ten levels of nine aliases each, 9**10 values once expanded, in 800 bytes."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        previous, current = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{current}: &{current} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


HOSTILE = [
    Hostile("binary", bytes(range(256)) * 64, 1, "NUL byte"),
    Hostile("not-utf8", "bench:\n  name: caf\xe9\n".encode("latin-1"), 2, "not UTF-8 text"),
    Hostile("nul-byte", b"bench:\n  name: sim\n  description: a\x00b\n", 3, "NUL byte"),
    Hostile("utf16", "bench:\n  name: sim\n".encode("utf-16"), 1, "UTF-16"),
    Hostile("control-character", b"bench:\n  name: a\x07b\n", 2, "control character U+0007"),
    Hostile("nested-20000-flow", b"bench: " + b"[" * 20_000 + b"]" * 20_000 + b"\n", 1, "nested more than"),
    Hostile("nested-20000-block", b"bench:\n" + b"- " * 20_000 + b"x\n", 2, "nested more than"),
    Hostile("billion-laughs", _laughs(), 5, "alias bomb"),
    Hostile("recursive-alias", b"bench: &loop\n  again: *loop\n", 2, "alias *loop"),
    Hostile("wide-flat", b"bench:\n" + b"- 1\n" * 200_000, 49_999, "more than 50,000 values"),
    Hostile("python-tag", b"bench: !!python/object/apply:os.system [echo hi]\n", 1, "not a plain value"),
    Hostile("huge-integer", b"bench: " + b"9" * 5000 + b"\n", 1, "not a usable value"),
    Hostile("two-documents", b"bench: {name: a}\n---\nbench: {name: b}\n", 2, "more than one YAML document"),
    Hostile("too-large", b"# padding\n" * 500_000, None, "larger than 4 MiB"),
]
