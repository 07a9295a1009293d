"""The parser (Go's ``text/template/parse/parse.go``): items to one tree per template name.

Named ``parser`` rather than ``parse`` so that the package's :func:`parse` is not shadowed by
a submodule of the same name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NoReturn

from bot.cli_output.gotemplate.budget import MAX_DEPTH
from bot.cli_output.gotemplate.errors import ParseFailure
from bot.cli_output.gotemplate.lex import Item, ItemType, lex
from bot.cli_output.gotemplate.node import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    ContinueNode,
    DotNode,
    ElseNode,
    EndNode,
    FieldNode,
    IdentifierNode,
    ListNode,
    NilNode,
    Node,
    NumberError,
    NumberNode,
    PipeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
    new_number,
)
from bot.cli_output.gotemplate.strconv import ErrSyntax, go_quote, unquote
from bot.cli_output.gotemplate.values import GoFunc


def _is_empty_tree(node: Node | None) -> bool:
    if node is None:
        return True
    if isinstance(node, ListNode):
        return all(_is_empty_tree(n) for n in node.nodes)
    if isinstance(node, TextNode):
        return not node.text.strip(" \t\r\n\v\f")
    return False


# The items that start a command in a pipeline (Go's switch in Tree.pipeline).
_COMMAND_STARTS = frozenset({
    ItemType.BOOL, ItemType.CHAR_CONSTANT, ItemType.COMPLEX, ItemType.DOT, ItemType.FIELD, ItemType.IDENTIFIER,
    ItemType.NUMBER, ItemType.NIL, ItemType.RAW_STRING, ItemType.STRING, ItemType.VARIABLE, ItemType.LEFT_PAREN,
})  # fmt: skip


class _Parser:
    """One parse of a template text; named sub-templates (define/block) land in ``trees``."""

    def __init__(self, text: str, funcs: Mapping[str, GoFunc], name: str) -> None:
        self.items = lex(text)
        self.funcs = funcs
        self.name = name
        self.idx = 0
        self.furthest = 0
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.depth = 0
        self.action_line = 0
        self.trees: dict[str, ListNode] = {}

    # -- token stream ----------------------------------------------------------------------

    def next(self) -> Item:
        item = self.items[min(self.idx, len(self.items) - 1)]
        self.idx += 1
        self.furthest = max(self.furthest, self.idx - 1)
        return item

    def backup(self) -> None:
        self.idx -= 1

    def peek(self) -> Item:
        item = self.next()
        self.backup()
        return item

    def next_non_space(self) -> Item:
        while True:
            item = self.next()
            if item.typ != ItemType.SPACE:
                return item

    def peek_non_space(self) -> Item:
        item = self.next_non_space()
        self.backup()
        return item

    def errorf(self, message: str) -> NoReturn:
        # Go reports the line of the most recently lexed token.
        line = self.items[min(self.furthest, len(self.items) - 1)].line
        raise ParseFailure(f"template: {self.name}:{line}: {message}")

    def expect(self, expected: ItemType, context: str) -> Item:
        token = self.next_non_space()
        if token.typ != expected:
            self.unexpected(token, context)
        return token

    def unexpected(self, token: Item, context: str) -> NoReturn:
        if token.typ == ItemType.ERROR:
            extra = ""
            if self.action_line and self.action_line != token.line:
                extra = f" in action started at {self.name}:{self.action_line}"
                if token.val.endswith(" action"):
                    extra = extra[len(" in action") :]
            self.errorf(f"{token.val}{extra}")
        self.errorf(f"unexpected {token} in {context}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.errorf("max expression depth exceeded")

    # -- top level -------------------------------------------------------------------------

    def parse(self) -> dict[str, ListNode]:
        root = ListNode(self.peek().pos)
        while self.peek().typ != ItemType.EOF:
            if self.peek().typ == ItemType.LEFT_DELIM:
                mark = self.idx
                self.next()
                if self.next_non_space().typ == ItemType.DEFINE:
                    self.parse_definition()
                    continue
                self.idx = mark
            node = self.text_or_action()
            if isinstance(node, EndNode | ElseNode):
                self.errorf(f"unexpected {node}")
            root.nodes.append(node)
        self.add(self.name, root)
        return self.trees

    def add(self, name: str, root: ListNode) -> None:
        existing = self.trees.get(name)
        if existing is None or _is_empty_tree(existing):
            self.trees[name] = root
        elif not _is_empty_tree(root):
            self.errorf(f"template: multiple definition of template {go_quote(name)}")

    def _sub_tree(self) -> tuple[ListNode, Node]:
        saved = (self.vars, self.range_depth)
        self.vars, self.range_depth = ["$"], 0
        try:
            return self.item_list()
        finally:
            self.vars, self.range_depth = saved

    def parse_definition(self) -> None:
        context = "define clause"
        token = self.next_non_space()
        if token.typ not in (ItemType.STRING, ItemType.RAW_STRING):
            self.unexpected(token, context)
        name = self.unquote(token)
        self.expect(ItemType.RIGHT_DELIM, context)
        body, end = self._sub_tree()
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add(name, body)

    def unquote(self, token: Item) -> str:
        try:
            return unquote(token.val)
        except ErrSyntax:
            self.errorf("invalid syntax")

    def item_list(self) -> tuple[ListNode, Node]:
        body = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != ItemType.EOF:
            node = self.text_or_action()
            if isinstance(node, EndNode | ElseNode):
                return body, node
            body.nodes.append(node)
        self.errorf("unexpected EOF")

    def text_or_action(self) -> Node:
        token = self.next_non_space()
        if token.typ == ItemType.TEXT:
            return TextNode(token.pos, token.val)
        if token.typ == ItemType.LEFT_DELIM:
            self.action_line = token.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        self.unexpected(token, "input")

    def action(self) -> Node:
        token = self.next_non_space()
        controls: dict[ItemType, Callable[[], Node]] = {
            ItemType.BLOCK: self.block_control,
            ItemType.ELSE: self.else_control,
            ItemType.END: self.end_control,
            ItemType.IF: lambda: self.branch_control("if"),
            ItemType.RANGE: lambda: self.branch_control("range"),
            ItemType.TEMPLATE: self.template_control,
            ItemType.WITH: lambda: self.branch_control("with"),
        }
        if token.typ in controls:
            return controls[token.typ]()
        if token.typ in (ItemType.BREAK, ItemType.CONTINUE):
            return self.loop_control(token)
        self.backup()
        token = self.peek()
        return ActionNode(token.pos, self.pipeline("command", ItemType.RIGHT_DELIM))

    def loop_control(self, keyword: Item) -> Node:
        word = "{{" + keyword.val + "}}"
        token = self.next_non_space()
        if token.typ != ItemType.RIGHT_DELIM:
            self.unexpected(token, word)
        if self.range_depth == 0:
            self.errorf(f"{word} outside {{{{range}}}}")
        return BreakNode(keyword.pos) if keyword.typ == ItemType.BREAK else ContinueNode(keyword.pos)

    # -- pipelines and operands ------------------------------------------------------------

    def pipeline(self, context: str, end: ItemType) -> PipeNode:
        token = self.peek_non_space()
        pipe = PipeNode(token.pos, token.line)
        self.declarations(pipe, context)
        while True:
            token = self.next_non_space()
            if token.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.typ in _COMMAND_STARTS:
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(token, context)

    def declarations(self, pipe: PipeNode, context: str) -> None:
        while True:
            variable = self.peek_non_space()
            if variable.typ != ItemType.VARIABLE:
                return
            mark = self.idx
            self.next()
            following = self.peek_non_space()
            if following.typ in (ItemType.ASSIGN, ItemType.DECLARE):
                pipe.is_assign = following.typ == ItemType.ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(variable.pos, [variable.val]))
                self.vars.append(variable.val)
                return
            if following.typ == ItemType.CHAR and following.val == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(variable.pos, [variable.val]))
                self.vars.append(variable.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (ItemType.VARIABLE, ItemType.RIGHT_DELIM, ItemType.RIGHT_PAREN):
                        continue  # the second variable of "range $i, $e :="
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            self.idx = mark  # "$x" is an operand, not a declaration
            return

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], BoolNode | DotNode | NilNode | NumberNode | StringNode):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.typ == ItemType.SPACE:
                continue
            if token.typ in (ItemType.RIGHT_DELIM, ItemType.RIGHT_PAREN):
                self.backup()
            elif token.typ != ItemType.PIPE:
                self.unexpected(token, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None or self.peek().typ != ItemType.FIELD:
            return node
        chain = ChainNode(self.peek().pos, node)
        while self.peek().typ == ItemType.FIELD:
            chain.fields.append(self.next().val[1:])
        # Like Go: extend fields and variables in place (taking the chain's position).
        if isinstance(node, FieldNode):
            return FieldNode(chain.pos, node.ident + chain.fields)
        if isinstance(node, VariableNode):
            return VariableNode(chain.pos, node.ident + chain.fields)
        if isinstance(node, BoolNode | StringNode | NumberNode | NilNode | DotNode):
            self.errorf(f"unexpected . after term {go_quote(str(node))}")
        return chain

    def term(self) -> Node | None:
        token = self.next_non_space()
        typ = token.typ
        if typ == ItemType.IDENTIFIER:
            if token.val not in self.funcs:
                self.errorf(f"function {go_quote(token.val)} not defined")
            return IdentifierNode(token.pos, token.val)
        if typ == ItemType.DOT:
            return DotNode(token.pos)
        if typ == ItemType.NIL:
            return NilNode(token.pos)
        if typ == ItemType.VARIABLE:
            if token.val not in self.vars:
                self.errorf(f"undefined variable {go_quote(token.val)}")
            return VariableNode(token.pos, [token.val])
        if typ == ItemType.FIELD:
            return FieldNode(token.pos, [token.val[1:]])
        if typ == ItemType.BOOL:
            return BoolNode(token.pos, token.val == "true")
        if typ in (ItemType.CHAR_CONSTANT, ItemType.COMPLEX, ItemType.NUMBER):
            return self.number(token)
        if typ == ItemType.LEFT_PAREN:
            self.enter()
            try:
                return self.pipeline("parenthesized pipeline", ItemType.RIGHT_PAREN)
            finally:
                self.depth -= 1
        if typ in (ItemType.STRING, ItemType.RAW_STRING):
            return StringNode(token.pos, token.val, self.unquote(token))
        self.backup()
        return None

    def number(self, token: Item) -> NumberNode:
        try:
            return new_number(token)
        except NumberError as exc:
            self.errorf(str(exc))

    # -- control structures ----------------------------------------------------------------

    def branch_control(self, keyword: str) -> Node:
        saved_vars = len(self.vars)
        self.enter()
        try:
            pipe = self.pipeline(keyword, ItemType.RIGHT_DELIM)
            if keyword == "range":
                self.range_depth += 1
            body, nxt = self.item_list()
            if keyword == "range":
                self.range_depth -= 1
            else_body: ListNode | None = None
            if isinstance(nxt, ElseNode):
                else_body = self.else_branch(keyword, nxt)
            return BranchNode(pipe.pos, keyword, pipe, body, else_body)
        finally:
            del self.vars[saved_vars:]
            self.depth -= 1

    def else_branch(self, keyword: str, else_node: Node) -> ListNode:
        # "{{else if ...}}" / "{{else with ...}}" nest a new branch that owns the final {{end}}.
        follow = {"if": ItemType.IF, "with": ItemType.WITH}.get(keyword)
        if follow is not None and self.peek().typ == follow:
            self.next()
            return ListNode(else_node.pos, [self.branch_control(keyword)])
        else_body, nxt = self.item_list()
        if not isinstance(nxt, EndNode):
            self.errorf(f"expected end; found {nxt}")
        return else_body

    def else_control(self) -> Node:
        peeked = self.peek_non_space()
        if peeked.typ in (ItemType.IF, ItemType.WITH):
            return ElseNode(peeked.pos)
        return ElseNode(self.expect(ItemType.RIGHT_DELIM, "else").pos)

    def end_control(self) -> Node:
        return EndNode(self.expect(ItemType.RIGHT_DELIM, "end").pos)

    def template_name(self, token: Item, context: str) -> str:
        if token.typ not in (ItemType.STRING, ItemType.RAW_STRING):
            self.unexpected(token, context)
        return self.unquote(token)

    def template_control(self) -> Node:
        context = "template clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe = None
        if self.next_non_space().typ != ItemType.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, ItemType.RIGHT_DELIM)
        return TemplateNode(token.pos, name, pipe)

    def block_control(self) -> Node:
        context = "block clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe = self.pipeline(context, ItemType.RIGHT_DELIM)
        body, end = self._sub_tree()
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add(name, body)
        return TemplateNode(token.pos, name, pipe)


def parse_trees(text: str, funcs: Mapping[str, GoFunc], name: str) -> dict[str, ListNode]:
    """The trees of ``text``: ``name``'s and those its define/block clauses name; raises :class:`ParseFailure`."""
    return _Parser(text, funcs, name).parse()
