"""The executor (Go's ``text/template/exec.go``): walks a tree over data, writing the output."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NoReturn

from bot.cli_output.gotemplate.budget import MAX_DEPTH, Budget, BudgetExceeded, active, using
from bot.cli_output.gotemplate.errors import ExecFailure, FuncError
from bot.cli_output.gotemplate.fmt import printable, sprint_value
from bot.cli_output.gotemplate.funcs import AND_OR, builtin_and_or, builtin_call, truth
from bot.cli_output.gotemplate.node import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
)
from bot.cli_output.gotemplate.strconv import go_quote
from bot.cli_output.gotemplate.values import (
    MISSING,
    GoFunc,
    GoNil,
    GoParam,
    TemplateContext,
    dig,
    sorted_items,
    type_name,
)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_NO_FINAL: Any = object()  # "no value piped in" (Go's missingVal)


def _assignable(value: object, typ: GoParam) -> bool:
    """Would Go accept this value for a parameter of this (non-interface) type?"""
    if typ == "string":
        return isinstance(value, str)
    if typ == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if typ == "bool":
        return isinstance(value, bool)
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)  # []string


class _State:
    """One execution: variable stack, current node (for errors), output and budget."""

    def __init__(
        self, text: str, trees: Mapping[str, ListNode], funcs: Mapping[str, GoFunc], name: str, budget: Budget,
        *, missing_key_error: bool = False,
    ) -> None:  # fmt: skip
        self.missing_key_error = missing_key_error  # Option("missingkey=error")
        self.text = text
        self.trees = trees
        self.funcs = funcs
        self.parse_name = name  # locations always name the top-level template, as in Go
        self.name = name  # the template executing now ({{template "x"}} changes it)
        self.budget = budget
        self.vars: list[list[Any]] = []
        self.node: Node | None = None
        self.depth = 0
        self.out: list[str] = []

    # -- bookkeeping -----------------------------------------------------------------------

    def at(self, node: Node) -> None:
        self.node = node
        try:
            self.budget.step()
        except BudgetExceeded as exc:
            self.errorf(str(exc))  # here, before unwinding: the message names this node and template

    def write(self, text: str) -> None:
        try:
            self.budget.write(text)
        except BudgetExceeded as exc:
            self.errorf(str(exc))
        self.out.append(text)

    def errorf(self, message: str) -> NoReturn:
        if self.node is None:
            raise ExecFailure(f"template: {self.parse_name}: {message}")
        prefix = self.text[: self.node.pos]
        line = prefix.count("\n") + 1
        column = len(prefix[prefix.rfind("\n") + 1 :].encode("utf-8", "surrogatepass"))
        where = f"{self.parse_name}:{line}:{column}"
        raise ExecFailure(f'template: {where}: executing "{self.name}" at <{self.node}>: {message}')

    def push(self, name: str, value: object) -> None:
        self.vars.append([name, value])

    def mark(self) -> int:
        return len(self.vars)

    def pop(self, mark: int) -> None:
        del self.vars[mark:]

    def set_var(self, name: str, value: object) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        self.errorf(f"undefined variable: {name}")

    def var_value(self, name: str) -> object:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        self.errorf(f"undefined variable: {name}")

    # -- walking ---------------------------------------------------------------------------

    def walk(self, dot: object, node: Node) -> None:
        self.at(node)
        if isinstance(node, ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:  # declarations print nothing
                self.at(node)
                self.write(sprint_value(printable(value)))
        elif isinstance(node, ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, TextNode):
            self.write(node.text)
        elif isinstance(node, BranchNode):
            if node.keyword == "range":
                self.walk_range(dot, node)
            else:
                self.walk_if_or_with(dot, node)
        elif isinstance(node, TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, BreakNode):
            raise _Break
        elif isinstance(node, ContinueNode):
            raise _Continue
        else:
            self.errorf(f"unknown node: {node}")

    def walk_if_or_with(self, dot: object, node: BranchNode) -> None:
        mark = self.mark()
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if truth(value):
                self.walk(value if node.keyword == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            self.pop(mark)

    def walk_range(self, dot: object, node: BranchNode) -> None:
        self.at(node)
        outer = self.mark()
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if not self.range_over(value, node) and node.else_body is not None:
                self.walk(dot, node.else_body)
        except _Break:
            pass
        finally:
            self.pop(outer)

    def _iterations(self, value: object, node: BranchNode) -> Iterator[tuple[object, object]] | None:
        if isinstance(value, list | tuple):
            return iter(enumerate(value))
        if isinstance(value, Mapping):
            return iter(sorted_items(value))
        if isinstance(value, int) and not isinstance(value, bool):
            if len(node.pipe.decl) > 1:
                self.errorf(f"can't use {value} to iterate over more than one variable")
            return ((i, i) for i in range(value))
        if value is MISSING or value is None:
            return iter(())
        self.errorf(f"range can't iterate over {sprint_value(value)}")

    def range_over(self, value: object, node: BranchNode) -> bool:
        """Run the body once per element; False when there was no element (for {{else}})."""
        iterations = self._iterations(value, node)
        assert iterations is not None
        mark = self.mark()
        ran = False
        decl = node.pipe.decl
        for index, elem in iterations:
            ran = True
            if decl:
                self.vars[-1][1] = elem  # the last declared variable gets the element
            if len(decl) > 1:
                self.vars[-2][1] = index
            try:
                self.walk(elem, node.body)
            except _Continue:
                pass
            finally:
                self.pop(mark)
        return ran

    def walk_template(self, dot: object, node: TemplateNode) -> None:
        self.at(node)
        tree = self.trees.get(node.name)
        if tree is None:
            self.errorf(f"template {go_quote(node.name)} not defined")
        if self.depth >= MAX_DEPTH:
            self.errorf(f"exceeded maximum template depth ({MAX_DEPTH})")
        new_dot = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else MISSING
        saved = (self.vars, self.name)
        # No dynamic scoping: the called template sees only "$".
        self.vars, self.name = [["$", new_dot]], node.name
        self.depth += 1
        try:
            self.walk(new_dot, tree)
        finally:
            self.vars, self.name = saved
            self.depth -= 1

    # -- evaluation ------------------------------------------------------------------------

    def eval_pipeline(self, dot: object, pipe: PipeNode) -> object:
        self.at(pipe)
        value: object = _NO_FINAL
        for cmd in pipe.cmds:
            value = dig(self.eval_command(dot, cmd, value))
        for variable in pipe.decl:
            if pipe.is_assign:
                self.set_var(variable.ident[0], value)
            else:
                self.push(variable.ident[0], value)
        return value

    def not_a_function(self, args: Sequence[Node], final: object) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: object, cmd: CommandNode, final: object) -> object:
        first = cmd.args[0]
        if isinstance(first, FieldNode):
            self.at(first)
            return self.eval_field_chain(dot, dot, first, first.ident, cmd.args, final)
        if isinstance(first, ChainNode):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, VariableNode):
            return self.eval_variable(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, BoolNode):
            return first.value
        if isinstance(first, DotNode):
            return dot
        if isinstance(first, NilNode):
            self.errorf("nil is not a command")
        if isinstance(first, NumberNode):
            return self.ideal_constant(first)
        if isinstance(first, StringNode):
            return first.text
        self.errorf(f"can't evaluate command {go_quote(str(first))}")

    def ideal_constant(self, node: NumberNode) -> object:
        self.at(node)
        text = node.text
        hex_int = text.lower().lstrip("+-").startswith("0x") and not any(c in text for c in "pP")
        if node.is_complex:
            return node.complex128
        if node.is_float and not hex_int and not text.startswith("'") and any(c in text for c in ".eEpP"):
            return node.float64
        if node.is_int:
            return node.int64
        if node.is_uint:
            self.errorf(f"{text} overflows int")
        return MISSING

    def eval_chain(self, dot: object, chain: ChainNode, args: Sequence[Node], final: object) -> object:
        self.at(chain)
        if isinstance(chain.node, NilNode):
            self.errorf(f"indirection through explicit nil in {chain}")
        receiver = self.eval_arg(dot, "value", chain.node)
        return self.eval_field_chain(dot, receiver, chain, chain.fields, args, final)

    def eval_variable(self, dot: object, node: VariableNode, args: Sequence[Node], final: object) -> object:
        self.at(node)
        value = self.var_value(node.ident[0])
        if len(node.ident) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, node, node.ident[1:], args, final)

    def eval_field_chain(
        self, dot: object, receiver: object, node: Node, idents: Sequence[str], args: Sequence[Node] | None,
        final: object,
    ) -> object:  # fmt: skip
        for name in idents[:-1]:
            receiver = self.eval_field(dot, name, node, None, _NO_FINAL, receiver)
        return self.eval_field(dot, idents[-1], node, args, final, receiver)

    def eval_field(
        self, dot: object, name: str, node: Node, args: Sequence[Node] | None, final: object, receiver: object
    ) -> object:
        if receiver is MISSING:
            return MISSING
        if receiver is None:
            self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, GoNil):
            if name in receiver.fields:
                self.errorf(f"nil pointer evaluating {receiver.go_type}.{name}")
            self.errorf(f"can't evaluate field {name} in type {receiver.go_type}")
        if isinstance(receiver, TemplateContext):
            method = receiver.template_method(name)
            if method is not None:
                return self.eval_call(dot, method, node, name, args, final)
        has_args = (args is not None and len(args) > 1) or final is not _NO_FINAL
        if isinstance(receiver, Mapping):
            if has_args:
                self.errorf(f"{name} is not a method but has arguments")
            if self.missing_key_error and name not in receiver:
                self.errorf(f"map has no entry for key {go_quote(name)}")
            return receiver.get(name, MISSING)
        self.errorf(f"can't evaluate field {name} in type {type_name(receiver)}")

    def eval_function(
        self, dot: object, node: IdentifierNode, cmd: Node, args: Sequence[Node], final: object
    ) -> object:
        self.at(node)
        function = self.funcs.get(node.ident)
        if function is None:
            self.errorf(f"{go_quote(node.ident)} is not a defined function")
        if function.impl is builtin_and_or:
            return self.eval_and_or(dot, node.ident, args, final)
        if function.impl is builtin_call:
            return self.eval_call(dot, function, cmd, node.ident, args, final, callee=True)
        return self.eval_call(dot, function, cmd, node.ident, args, final)

    def _check_arity(self, function: GoFunc, name: str, nargs: int, final: object) -> None:
        num_in = nargs + (final is not _NO_FINAL)
        want = len(function.params)
        if function.variadic is not None:
            if num_in < want:
                self.errorf(f"wrong number of args for {name}: want at least {want} got {nargs}")
        elif num_in != want:
            self.errorf(f"wrong number of args for {name}: want {want} got {num_in}")

    def eval_and_or(self, dot: object, name: str, args: Sequence[Node], final: object) -> object:
        arguments = list(args[1:])
        self._check_arity(AND_OR, name, len(arguments), final)
        value: object = MISSING
        for arg in arguments:
            value = self.eval_arg(dot, "value", arg)
            if truth(value) == (name == "or"):
                return value  # short-circuit: the rest is never evaluated
        if final is not _NO_FINAL:
            value = final
        return value

    def eval_call(
        self, dot: object, function: GoFunc, node: Node, name: str, args: Sequence[Node] | None,
        final: object, *, callee: bool = False,
    ) -> object:  # fmt: skip
        arg_nodes = list(args[1:]) if args is not None else []
        self._check_arity(function, name, len(arg_nodes), final)
        params = function.params
        argv: list[object] = []
        for i, arg in enumerate(arg_nodes):
            argv.append(self.eval_arg(dot, params[i] if i < len(params) else function.variadic or "any", arg))
        if final is not _NO_FINAL:
            last = params[len(arg_nodes)] if len(arg_nodes) < len(params) else function.variadic or "any"
            argv.append(self.validate(final, last))
        if callee:
            argv.insert(0, str(arg_nodes[0]) if arg_nodes else sprint_value(final))
        try:
            return function.impl(*argv)
        except FuncError as exc:
            self.at(node)
            self.errorf(f"error calling {name}: {exc}")
        except BudgetExceeded as exc:  # the function charged for what it was about to build
            self.node = node  # no step: there is no budget left to charge it to
            self.errorf(f"error calling {name}: {exc}")

    def validate(self, value: object, typ: GoParam) -> object:
        """Go's validateType: may the value be passed as a parameter of this type?"""
        if typ == "value":
            return value
        if value is MISSING:
            if typ == "any":
                return None
            if typ == "[]string":
                return []
            self.errorf(f"invalid value; expected {typ}")
        if typ == "any":
            return value
        if not _assignable(value, typ):
            self.errorf(f"wrong type for value; expected {typ}; got {type_name(value)}")
        return value

    def eval_arg(self, dot: object, typ: GoParam, node: Node) -> object:
        self.at(node)
        if isinstance(node, DotNode):
            return self.validate(dot, typ)
        if isinstance(node, NilNode):
            if typ in ("any", "value", "[]string"):
                return None if typ != "[]string" else []
            self.errorf(f"cannot assign nil to {typ}")
        if isinstance(node, FieldNode):
            return self.validate(self.eval_field_chain(dot, dot, node, node.ident, [node], _NO_FINAL), typ)
        if isinstance(node, VariableNode):
            return self.validate(self.eval_variable(dot, node, [], _NO_FINAL), typ)
        if isinstance(node, PipeNode):
            return self.validate(self.eval_pipeline(dot, node), typ)
        if isinstance(node, IdentifierNode):
            return self.validate(self.eval_function(dot, node, node, [node], _NO_FINAL), typ)
        if isinstance(node, ChainNode):
            return self.validate(self.eval_chain(dot, node, [], _NO_FINAL), typ)
        return self.eval_literal(typ, node)

    def eval_literal(self, typ: GoParam, node: Node) -> object:
        if typ in ("any", "value"):
            if isinstance(node, BoolNode):
                return node.value
            if isinstance(node, NumberNode):
                return self.ideal_constant(node)
            if isinstance(node, StringNode):
                return node.text
        elif typ == "string" and isinstance(node, StringNode):
            return node.text
        elif typ == "int" and isinstance(node, NumberNode) and node.is_int:
            return node.int64
        elif typ == "bool" and isinstance(node, BoolNode):
            return node.value
        expected = {"string": "string", "int": "integer", "bool": "bool"}.get(typ)
        if expected is None:
            self.errorf(f"can't handle {node} for arg of type {typ}")
        self.errorf(f"expected {expected}; found {node}")


def execute(
    text: str, trees: Mapping[str, ListNode], funcs: Mapping[str, GoFunc], name: str, data: object, *, partial: bool,
    missing_key_error: bool = False,
) -> str:  # fmt: skip
    """Run tree ``name`` on ``data``; ``partial`` returns what was written before an error.

    The work is charged to the active budget (the command's, shared by all its executions),
    or to a fresh one when none is active.
    """
    budget = active()
    if budget is None:
        with using(Budget()) as fresh:
            return _execute(text, trees, funcs, name, data, partial=partial, budget=fresh, missing=missing_key_error)
    return _execute(text, trees, funcs, name, data, partial=partial, budget=budget, missing=missing_key_error)


def _execute(
    text: str, trees: Mapping[str, ListNode], funcs: Mapping[str, GoFunc], name: str, data: object, *,
    partial: bool, budget: Budget, missing: bool = False,
) -> str:  # fmt: skip
    state = _State(text, trees, funcs, name, budget, missing_key_error=missing)
    state.push("$", data)
    try:
        state.walk(data, trees[name])
    except (ExecFailure, FuncError):
        if not partial:
            raise
    except (_Break, _Continue):
        pass  # unreachable: the parser only allows them inside range
    return "".join(state.out)
