"""YAML loading that remembers where every value came from, so errors can name the line.

The files come from users and from fleet jobs, so a hostile or broken one must give one clear error quickly
and in bounded memory: the bytes are checked to be UTF-8 text first, and the node tree is composed here from
the parser's event stream (not by PyYAML's recursive composer), counting nesting depth and the nodes that
aliases expand to, so a file nested 20,000 levels or a "billion laughs" is refused before anything big is
built or the stack runs out.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from .errors import ConfigError

Path_ = tuple[str | int, ...]

# Far above any real file (the largest shipped file has 1,445 nodes and nests 8 deep), far below trouble
MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 50_000

# libyaml's parser is 20 times faster than the pure-Python one: a file near MAX_VALUES is parsed in well under a
# second; errors are still worded by the pure-Python parser, which the existing messages and lines come from
_FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# what YAML 1.1 lets a stream hold (PyYAML's Reader.NON_PRINTABLE), checked up front to name the line
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


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


def _scalar(node: yaml.ScalarNode, path: Path_, file: str) -> Any:
    # compose resolved the tag (int, float, bool, null, str); construct the value for it
    try:
        return _scalars.construct_object(node, deep=True)
    except yaml.YAMLError as exc:  # an unknown tag (!!python/object), a malformed !!binary or !!timestamp
        raise ConfigError(file, node.start_mark.line + 1, dotted(path), f"not a plain value: {_problem(exc)}") from exc
    except (ValueError, OverflowError) as exc:  # an integer of more than 4,300 digits
        raise ConfigError(file, node.start_mark.line + 1, dotted(path), f"not a usable value: {exc}") from exc


_PLAIN_COLLECTIONS = {yaml.MappingNode: "tag:yaml.org,2002:map", yaml.SequenceNode: "tag:yaml.org,2002:seq"}


def _construct(node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if type(node) in _PLAIN_COLLECTIONS and node.tag != _PLAIN_COLLECTIONS[type(node)]:
        raise ConfigError(file, node.start_mark.line + 1, dotted(path), f"not a plain value: tag {node.tag}")
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
    return _scalar(node, path, file)


def load_marked(path: str | Path) -> MarkedDoc:
    """Parse a YAML file; every problem, from unreadable bytes to syntax, is a ConfigError with file and line."""
    path = Path(path)
    file = str(path)
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size  # 0 for a pipe or a device: then read up to the bound
            raw = b"" if size > MAX_BYTES else f.read(size + 1 if size else MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(file, None, "", f"cannot read: {exc.strerror or exc}") from exc
    if size > MAX_BYTES or len(raw) > MAX_BYTES:
        raise ConfigError(file, None, "", f"larger than {MAX_BYTES // 1024 // 1024} MiB: not a file benchctl reads")
    return load_marked_text(decode(raw, file), file)


def decode(raw: bytes, file: str) -> str:
    """The text of a file's bytes, or a ConfigError naming the line of the first byte that is not text."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(file, 1, "", "UTF-16 text: save the file as UTF-8")
    nul = raw.find(b"\0")
    if nul >= 0:
        raise ConfigError(file, raw.count(b"\n", 0, nul) + 1, "",
                          "contains a NUL byte: a binary file, not YAML text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(file, line, "", f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {column}): "
                                          f"save the file as UTF-8") from None


def load_marked_text(text: str, file: str) -> MarkedDoc:
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        raise ConfigError(file, text.count("\n", 0, bad.start()) + 1, "",
                          f"control character U+{ord(bad.group()):04X}: YAML text may not contain it")
    try:
        node = _compose(text, file, _FAST)
    except yaml.YAMLError as exc:
        if "nesting depth" in _problem(exc):  # libyaml's own bound (1,000 levels), reached while scanning ahead
            raise ConfigError(file, _line(exc), "", f"nested more than {MAX_DEPTH} levels deep: refused") from None
        _compose(text, file, yaml.SafeLoader)  # raises the same error, worded and placed as PyYAML does
        raise _syntax_error(file, exc) from exc
    lines: dict[Path_, int] = {}
    data = {} if node is None else _construct(node, (), lines, file)
    return MarkedDoc(file, data, lines)


def _problem(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or exc)


def _line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark else None


def _syntax_error(file: str, exc: yaml.YAMLError) -> ConfigError:
    return ConfigError(file, _line(exc), "", f"not valid YAML: {_problem(exc)}")


def _events(text: str, file: str, loader: type) -> Iterator[yaml.Event]:
    try:
        yield from yaml.parse(text, Loader=loader)
    except yaml.YAMLError as exc:
        if loader is not yaml.SafeLoader:
            raise  # load_marked_text asks the pure-Python parser for its wording
        raise _syntax_error(file, exc) from exc


@dataclass
class _Open:
    """A collection whose end event has not come yet."""

    node: yaml.CollectionNode
    anchor: str | None
    start: int  # values counted before it
    height: int = 1  # its levels, counting what its aliases expand to


class _Composer:
    """Builds the node tree from parser events, checking the bounds at each event."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.resolver = yaml.resolver.Resolver()
        self.anchors: dict[str, tuple[yaml.Node, int, int]] = {}  # anchor -> node, height, values
        self.stack: list[_Open] = []
        self.values = 0  # of the document as aliases expand it
        self.root: yaml.Node | None = None

    def fail(self, event: yaml.Event, message: str) -> ConfigError:
        return ConfigError(self.file, event.start_mark.line + 1, "", message)

    def count(self, event: yaml.Event, values: int, height: int) -> None:
        self.values += values
        if self.values > MAX_VALUES:
            raise self.fail(event, f"more than {MAX_VALUES:,} values (counting what aliases repeat): refused, "
                                   f"as a YAML alias bomb would be")
        if len(self.stack) + height > MAX_DEPTH:
            raise self.fail(event, f"nested more than {MAX_DEPTH} levels deep: refused")

    def attach(self, node: yaml.Node, anchor: str | None, height: int, values: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = (node, height, values)
        if not self.stack:
            self.root = node
            return
        parent = self.stack[-1]
        parent.node.value.append(node)
        parent.height = max(parent.height, height + 1)

    def event(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                raise self.fail(event, f"alias *{event.anchor} refers to no anchor before it (or to a node that "
                                       f"contains the alias)")
            node, height, values = self.anchors[event.anchor]
            self.count(event, values, height)
            self.attach(node, None, height, values)
        elif isinstance(event, yaml.ScalarEvent):
            self.count(event, 1, 1)
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
            node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
            self.attach(node, event.anchor, 1, 1)
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            start = self.values
            self.count(event, 1, 1)
            cls = yaml.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else yaml.MappingNode
            tag = event.tag if event.tag not in (None, "!") else self.resolver.resolve(cls, None, event.implicit)
            self.stack.append(_Open(cls(tag, [], event.start_mark, None, flow_style=event.flow_style),
                                    event.anchor, start))
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            done = self.stack.pop()
            done.node.end_mark = event.end_mark
            if isinstance(done.node, yaml.MappingNode):  # the events alternate key, value
                items = done.node.value
                done.node.value = list(zip(items[0::2], items[1::2]))
            self.attach(done.node, done.anchor, done.height, self.values - done.start)
        elif isinstance(event, yaml.DocumentStartEvent) and self.root is not None:
            raise self.fail(event, "more than one YAML document ('---'): a file holds one")


def _compose(text: str, file: str, loader: type) -> yaml.Node | None:
    composer = _Composer(file)
    for event in _events(text, file, loader):
        composer.event(event)
    return composer.root
