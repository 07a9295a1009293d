"""The one registry of `/docker` commands.

Handlers are plain async functions tagged with :func:`command`; the tag only
records metadata.  :class:`Registry` collects the tagged functions of the handler
modules, checks that no two claim the same spelling, and answers lookups.  Help
text and did-you-mean suggestions are generated from it, so a command exists in
exactly one place.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from bot.core.cliparse import Flag, FlagSet, Kind

if TYPE_CHECKING:
    from bot.core.types import Invocation, Output

# The context a handler receives (bot.jobs.context.HandlerContext) exposes the engine and
# the job desk, layers above this one: here it is typed loosely, and each handler's own
# signature (checked by mypy where it is written) names the real type.
CommandHandler = Callable[["Invocation", Any], Awaitable["Output"]]
H = TypeVar("H", bound=CommandHandler)

HELP_FLAG = Flag("help", "Print usage")
# docker takes -H before the command only; people type it anywhere, so every command accepts it.
HOST_FLAG = Flag(
    "host", "Docker host to use (a name from dockbell's config)", Kind.STRING, short="H", value_name="string"
)


@dataclass(frozen=True)
class Command:
    name: str  # canonical spelling, e.g. "ps"
    paths: tuple[tuple[str, ...], ...]  # every spelling: ("ps",), ("container", "ls"), ...
    usage: str  # "docker ps [OPTIONS]"
    summary: str
    flagset: FlagSet
    handler: CommandHandler
    verb: str  # the verb the permission layer sees
    min_args: int = 0
    max_args: int | None = None
    group: str = "read"
    # What the permission gate resolves and checks before the handler runs:
    # "none" (bot and list verbs: lists are filtered item by item), or KIND:WHICH with
    # KIND container | image | object (container, else image) and WHICH first | all args.
    targets: str = "none"

    @property
    def aliases(self) -> list[str]:
        return ["docker " + " ".join(p) for p in self.paths]


_TAG = "__dockbell_command__"


def command(
    name: str,
    *,
    usage: str,
    summary: str,
    aliases: Sequence[str] = (),
    flags: Sequence[Flag] = (),
    min_args: int = 0,
    max_args: int | None = None,
    interspersed: bool = True,
    verb: str | None = None,
    group: str = "read",
    targets: str = "none",
) -> Callable[[H], H]:
    """Tag an async handler as the implementation of a docker command."""

    def tag(fn: H) -> H:
        checked: Any = fn  # iscoroutinefunction narrows its argument's type; keep fn's own
        if not inspect.iscoroutinefunction(checked):
            raise TypeError(f"handler for {name!r} must be async")
        # A management command's name is two words ("volume ls"): its path is both of them.
        paths = (tuple(name.split()), *(tuple(a.split()) for a in aliases))
        spec = Command(
            name=name,
            paths=paths,
            usage=usage,
            summary=summary,
            flagset=FlagSet(_with_common(flags), interspersed=interspersed),
            handler=fn,
            verb=verb or name,
            min_args=min_args,
            max_args=max_args,
            group=group,
            targets=targets,
        )
        setattr(fn, _TAG, spec)
        return fn

    return tag


def _with_common(flags: Sequence[Flag]) -> list[Flag]:
    out = [*flags, HELP_FLAG]
    if not any(f.name == "host" or f.short == "H" for f in flags):
        out.append(HOST_FLAG)
    return out


class Registry:
    def __init__(self, commands: Iterable[Command] = ()) -> None:
        self._by_path: dict[tuple[str, ...], Command] = {}
        self._commands: list[Command] = []
        for c in commands:
            self.add(c)

    @classmethod
    def from_modules(cls, modules: Iterable[ModuleType]) -> Registry:
        found: list[Command] = []
        for module in modules:
            for value in vars(module).values():
                spec: Any = getattr(value, _TAG, None)
                if isinstance(spec, Command):
                    found.append(spec)
        return cls(found)

    def add(self, cmd: Command) -> None:
        for path in cmd.paths:
            if path in self._by_path:
                raise ValueError(f"'{' '.join(path)}' registered twice")
            self._by_path[path] = cmd
        self._commands.append(cmd)

    def commands(self) -> list[Command]:
        return list(self._commands)

    def lookup(self, words: Sequence[str]) -> tuple[Command, int] | None:
        """The command spelled by the first one or two words, and how many words it used."""
        if len(words) >= 2 and (cmd := self._by_path.get((words[0], words[1]))):
            return cmd, 2
        if words and (cmd := self._by_path.get((words[0],))):
            return cmd, 1
        return None

    def spellings(self) -> list[str]:
        return [" ".join(p) for p in self._by_path]

    def top_level(self) -> list[Command]:
        return [c for c in self._commands if tuple(c.name.split()) in c.paths]
