"""YAML loading that remembers where every value came from, so errors can name the line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

Path_ = tuple[str | int, ...]


@dataclass
class MarkedDoc:
    """Plain Python data plus the line of each node, keyed by its path (('roles', 'ev', 'port'))."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int | None:
        """The line of the node at `path`, or of its nearest ancestor that exists."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def error(self, path: Path_, message: str) -> ConfigError:
        return ConfigError(self.file, self.line(path), dotted(path), message)


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_scalars = yaml.constructor.SafeConstructor()


def _construct(node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(file, key_node.start_mark.line + 1, dotted(path), "keys must be plain names")
            key = key_node.value
            if key in out:
                raise ConfigError(file, key_node.start_mark.line + 1, dotted(path + (key,)), "duplicate key")
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, path + (key,), lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, path + (i,), lines, file) for i, item in enumerate(node.value)]
    # compose() already resolved the tag (int, float, bool, null, str); construct the value for it
    return _scalars.construct_object(node, deep=True)


def load_marked(path: str | Path) -> MarkedDoc:
    """Parse a YAML file; syntax errors become ConfigError with the file and line."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(file, None, "", f"cannot read: {exc.strerror or exc}") from exc
    return load_marked_text(text, file)


def load_marked_text(text: str, file: str) -> MarkedDoc:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(file, line, "", f"not valid YAML: {exc.problem or exc}") from exc
    lines: dict[Path_, int] = {}
    data = {} if node is None else _construct(node, (), lines, file)
    return MarkedDoc(file, data, lines)
