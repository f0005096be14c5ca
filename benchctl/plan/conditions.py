"""Condition expressions over PICS fields, as appendix_c.yaml writes them (`local_start and not fixed_cable`).

The text is parsed with `ast` and only a small language is accepted: names of PICS fields, literals (True,
False, whole numbers, strings, lists of those), `and` / `or` / `not`, one comparison at a time (==, !=, <, <=,
>, >=, in, not in) and parentheses. Nothing is ever passed to eval(): the tree is walked by hand.

Expressions are also type-checked against the PICS schema when they are compiled, so a misspelt field, a
choice that does not exist (`product_subtype == "mode12"`) or a comparison of a flag with a number is an error
when appendix_c.yaml loads, not a silently false condition on the one station that would have noticed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from benchctl.config.schema import Field

_COMPARE_SYMBOLS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
                    ast.In: "in", ast.NotIn: "not in"}
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_KIND_NAMES = {"bool": "true/false", "int": "a number", "str": "a string", "list": "a list"}
_ITEM_NAMES = {"bool": "flags", "int": "numbers", "str": "strings"}


@dataclass(frozen=True)
class _Type:
    kind: str  # bool, int, str or list
    choices: tuple[Any, ...] | None = None
    item: "_Type | None" = None  # the type of a list's items

    def describe(self) -> str:
        if self.kind == "list" and self.item is not None:
            return f"a list of {_ITEM_NAMES[self.item.kind]}"
        return _KIND_NAMES[self.kind]


def _field_type(spec: Field) -> _Type:
    if spec.type is list:
        item = spec.items if isinstance(spec.items, Field) else None
        return _Type("list", item=_field_type(item) if item is not None else None)
    return _Type({bool: "bool", int: "int", str: "str"}[spec.type], spec.choices)


def _literal_type(value: Any) -> _Type | None:
    # bool first: True is also an int
    for python_type, kind in ((bool, "bool"), (int, "int"), (str, "str")):
        if isinstance(value, python_type):
            return _Type(kind)
    return None


@dataclass(frozen=True)
class Condition:
    """A checked expression; `holds` evaluates it for one PICS."""

    text: str
    names: frozenset[str]
    tree: ast.Expression = field(repr=False, compare=False)

    def holds(self, values: Mapping[str, Any]) -> bool:
        return bool(_evaluate(self.tree.body, values))


class _Checker:
    def __init__(self, text: str, fields: Mapping[str, Field], fail: Callable[[str], Exception]) -> None:
        self.text = text
        self.fields = fields
        self.fail = fail
        self.names: set[str] = set()

    def error(self, node: ast.AST, message: str) -> Exception:
        segment = ast.get_source_segment(self.text, node) or self.text
        return self.fail(f"{message} (at `{segment}` in `{self.text}`)")

    def check(self, node: ast.AST) -> _Type:
        if isinstance(node, ast.Name):
            if node.id not in self.fields:
                hint = " (write True or False)" if node.id.lower() in ("true", "false") else ""
                raise self.error(node, f"unknown name '{node.id}'{hint}; PICS fields: "
                                       f"{', '.join(sorted(self.fields))}")
            self.names.add(node.id)
            return _field_type(self.fields[node.id])
        if isinstance(node, ast.Constant):
            found = _literal_type(node.value)
            if found is None:
                raise self.error(node, f"literal {node.value!r} not allowed; use True, False, whole numbers "
                                       f"or strings")
            return found
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self.check(element) for element in node.elts]
            if any(not isinstance(element, ast.Constant) for element in node.elts):
                raise self.error(node, "a list may only hold literals")
            kinds = {item.kind for item in items}
            if len(kinds) > 1:
                raise self.error(node, "a list mixes kinds of values")
            return _Type("list", item=items[0] if items else None)
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self.expect_bool(value, "and / or")
            return _Type("bool")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self.expect_bool(node.operand, "not")
            return _Type("bool")
        if isinstance(node, ast.Compare):
            return self.compare(node)
        raise self.error(node, f"{_describe_node(node)} is not allowed; only PICS field names, literals, "
                               f"and/or/not and comparisons")

    def expect_bool(self, node: ast.AST, where: str) -> None:
        found = self.check(node)
        if found.kind != "bool":
            raise self.error(node, f"{where} needs true/false, but this is {found.describe()}")

    def compare(self, node: ast.Compare) -> _Type:
        if len(node.ops) != 1:
            raise self.error(node, "one comparison at a time; join comparisons with and")
        op, left_node, right_node = node.ops[0], node.left, node.comparators[0]
        if type(op) not in _COMPARE_SYMBOLS:
            raise self.error(node, f"the comparison {type(op).__name__} is not allowed")
        symbol = _COMPARE_SYMBOLS[type(op)]
        left, right = self.check(left_node), self.check(right_node)
        if isinstance(op, (ast.In, ast.NotIn)):
            if right.kind != "list":
                raise self.error(right_node, f"'{symbol}' needs a list on its right, but this is {right.describe()}")
            if right.item is not None:
                self.same_kind(node, left, right.item, symbol)
                self.known_choices(left_node, right.item)
                if isinstance(right_node, (ast.List, ast.Tuple)):
                    for element in right_node.elts:
                        self.known_choices(element, left)
            return _Type("bool")
        self.same_kind(node, left, right, symbol)
        if isinstance(op, _ORDERING) and left.kind != "int":
            raise self.error(node, f"'{symbol}' compares numbers, not {left.describe()}")
        self.known_choices(left_node, right)
        self.known_choices(right_node, left)
        return _Type("bool")

    def same_kind(self, node: ast.AST, left: _Type, right: _Type, symbol: str) -> None:
        if left.kind != right.kind:
            raise self.error(node, f"'{symbol}' between {left.describe()} and {right.describe()}")

    def known_choices(self, literal: ast.AST, other: _Type) -> None:
        """A literal compared with a choice field must be one of its choices, or the comparison is a typo."""
        if isinstance(literal, ast.Constant) and other.choices is not None and literal.value not in other.choices:
            raise self.error(literal, f"{literal.value!r} is not a possible value; the choices are "
                                      f"{', '.join(map(repr, other.choices))}")


def _describe_node(node: ast.AST) -> str:
    names = {ast.Call: "a function call", ast.Attribute: "attribute access", ast.Subscript: "indexing",
             ast.BinOp: "arithmetic", ast.Lambda: "a lambda", ast.IfExp: "an if-expression",
             ast.NamedExpr: "an assignment", ast.UnaryOp: "this operator"}
    for node_type, name in names.items():
        if isinstance(node, node_type):
            return name
    return f"'{type(node).__name__}'"


def compile_condition(text: str, fields: Mapping[str, Field], fail: Callable[[str], Exception]) -> Condition:
    """Parse and type-check `text` against `fields`; `fail(message)` builds the exception for any problem."""
    if not text.strip():
        raise fail("the condition is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise fail(f"not a valid expression: {exc.msg} (in `{text}`)") from None
    checker = _Checker(text.strip(), fields, fail)
    result = checker.check(tree.body)
    if result.kind != "bool":
        raise fail(f"the condition must be true or false, but `{text}` is {result.describe()}")
    return Condition(text.strip(), frozenset(checker.names), tree)


def _evaluate(node: ast.AST, values: Mapping[str, Any]) -> Any:
    # only the node kinds _Checker accepted reach here
    if isinstance(node, ast.Name):
        value = values[node.id]
        return tuple(value) if isinstance(value, list) else value
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return tuple(_evaluate(element, values) for element in node.elts)
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_evaluate(value, values) for value in node.values)
        return any(_evaluate(value, values) for value in node.values)
    if isinstance(node, ast.UnaryOp):
        return not _evaluate(node.operand, values)
    if isinstance(node, ast.Compare):
        left, right = _evaluate(node.left, values), _evaluate(node.comparators[0], values)
        op = node.ops[0]
        if isinstance(op, ast.Eq):
            return left == right
        if isinstance(op, ast.NotEq):
            return left != right
        if isinstance(op, ast.Lt):
            return left < right
        if isinstance(op, ast.LtE):
            return left <= right
        if isinstance(op, ast.Gt):
            return left > right
        if isinstance(op, ast.GtE):
            return left >= right
        if isinstance(op, ast.In):
            return left in right
        return left not in right
    raise AssertionError(f"unchecked node {type(node).__name__}")
