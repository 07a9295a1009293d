"""The parse tree (Go's ``text/template/parse/node.go``), including ``newNumber``'s constant rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.cli_output.gotemplate.lex import Item, ItemType
from bot.cli_output.gotemplate.strconv import ErrSyntax, go_quote, parse_float, parse_int, unquote_char


@dataclass
class Node:
    pos: int

    def __str__(self) -> str:
        raise NotImplementedError


@dataclass
class ListNode(Node):
    nodes: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


@dataclass
class TextNode(Node):
    text: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass
class CommandNode(Node):
    args: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, PipeNode) else str(a) for a in self.args)


@dataclass
class VariableNode(Node):
    ident: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return ".".join(self.ident)


@dataclass
class PipeNode(Node):
    line: int = 0
    is_assign: bool = False
    decl: list[VariableNode] = field(default_factory=list)
    cmds: list[CommandNode] = field(default_factory=list)

    def __str__(self) -> str:
        head = ""
        if self.decl:
            head = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return head + " | ".join(str(c) for c in self.cmds)


@dataclass
class ActionNode(Node):
    pipe: PipeNode = field(default_factory=lambda: PipeNode(0))

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


@dataclass
class IdentifierNode(Node):
    ident: str = ""

    def __str__(self) -> str:
        return self.ident


@dataclass
class DotNode(Node):
    def __str__(self) -> str:
        return "."


@dataclass
class NilNode(Node):
    def __str__(self) -> str:
        return "nil"


@dataclass
class FieldNode(Node):
    ident: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "".join("." + i for i in self.ident)


@dataclass
class ChainNode(Node):
    node: Node = field(default_factory=lambda: DotNode(0))
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return head + "".join("." + f for f in self.fields)


@dataclass
class BoolNode(Node):
    value: bool = False

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass
class NumberNode(Node):
    text: str = ""
    is_int: bool = False
    is_uint: bool = False
    is_float: bool = False
    is_complex: bool = False
    int64: int = 0
    float64: float = 0.0
    complex128: complex = 0j

    def __str__(self) -> str:
        return self.text


@dataclass
class StringNode(Node):
    quoted: str = ""
    text: str = ""

    def __str__(self) -> str:
        return self.quoted


@dataclass
class BranchNode(Node):
    keyword: str = "if"
    pipe: PipeNode = field(default_factory=lambda: PipeNode(0))
    body: ListNode = field(default_factory=lambda: ListNode(0))
    else_body: ListNode | None = None

    def __str__(self) -> str:
        text = f"{{{{{self.keyword} {self.pipe}}}}}{self.body}"
        if self.else_body is not None:
            text += f"{{{{else}}}}{self.else_body}"
        return text + "{{end}}"


@dataclass
class TemplateNode(Node):
    name: str = ""
    pipe: PipeNode | None = None

    def __str__(self) -> str:
        if self.pipe is None:
            return f"{{{{template {go_quote(self.name)}}}}}"
        return f"{{{{template {go_quote(self.name)} {self.pipe}}}}}"


@dataclass
class BreakNode(Node):
    def __str__(self) -> str:
        return "{{break}}"


@dataclass
class ContinueNode(Node):
    def __str__(self) -> str:
        return "{{continue}}"


@dataclass
class EndNode(Node):
    def __str__(self) -> str:
        return "{{end}}"


@dataclass
class ElseNode(Node):
    def __str__(self) -> str:
        return "{{else}}"


class NumberError(Exception):
    """A number constant Go refuses; the message is the parse error's text."""


def new_number(token: Item) -> NumberNode:  # noqa: C901 - parse.newNumber, step by step
    text = token.val
    node = NumberNode(token.pos, text)
    if token.typ == ItemType.CHAR_CONSTANT:
        try:
            ch, tail = unquote_char(text[1:], "'")
        except ErrSyntax:
            raise NumberError("invalid syntax") from None
        if tail != "'":
            raise NumberError(f"malformed character constant: {text}")
        node.is_int = node.is_uint = node.is_float = True
        node.int64, node.float64 = ord(ch), float(ord(ch))
        return node
    if token.typ == ItemType.COMPLEX:
        match = re.fullmatch(r"([+-]?[^+-]+(?:[eEpP][+-]\d+)?)([+-].+)i", text)
        real = parse_float(match.group(1)) if match else None
        imag = parse_float(match.group(2)) if match else None
        if real is None or imag is None:
            raise NumberError(f"illegal number syntax: {go_quote(text)}")
        return _simplify_complex(node, complex(real, imag))
    if text.endswith("i"):
        imag = parse_float(text[:-1])
        if imag is not None:
            return _simplify_complex(node, complex(0, imag))
    value = parse_int(text)
    if value is not None and 0 <= value < 1 << 64:
        node.is_uint = True
    if value is not None and -(1 << 63) <= value < 1 << 63:
        node.is_int, node.int64 = True, value
    if node.is_int or node.is_uint:
        node.is_float = True
        node.float64 = float(value) if value is not None else 0.0
        if not node.is_int:
            node.int64 = value if value is not None else 0  # kept for the "overflows int" message
        return node
    fvalue = parse_float(text)
    if fvalue is not None:
        if not any(c in text for c in ".eEpP"):
            raise NumberError(f"integer overflow: {go_quote(text)}")
        node.is_float, node.float64 = True, fvalue
        if fvalue.is_integer() and -(2**63) <= fvalue < 2**63:
            node.is_int, node.int64 = True, int(fvalue)
        if fvalue.is_integer() and 0 <= fvalue < 2**64:
            node.is_uint = True
        return node
    raise NumberError(f"illegal number syntax: {go_quote(text)}")


def _simplify_complex(node: NumberNode, value: complex) -> NumberNode:
    node.is_complex, node.complex128 = True, value
    if value.imag == 0:
        node.is_float, node.float64 = True, value.real
        if value.real.is_integer() and -(2**63) <= value.real < 2**63:
            node.is_int, node.int64 = True, int(value.real)
        node.is_uint = value.real.is_integer() and 0 <= value.real < 2**64
    return node
