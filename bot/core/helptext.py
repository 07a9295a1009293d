"""Usage text in the docker CLI's layout, generated from the registry."""

from __future__ import annotations

from bot.core.registry import Command, Registry


def command(cmd: Command) -> str:
    lines = [f"Usage:  {cmd.usage}", "", cmd.summary]
    if len(cmd.paths) > 1:
        lines += ["", "Aliases:", "  " + ", ".join(cmd.aliases[1:] + cmd.aliases[:1])]
    options = cmd.flagset.help_lines()
    if options:
        lines += ["", "Options:", *options]
    return "\n".join(lines)


def general(registry: Registry, allowed: set[str] | None = None) -> str:
    cmds = [c for c in registry.top_level() if allowed is None or c.verb in allowed]
    width = max((len(c.name) for c in cmds), default=4) + 2
    lines = [
        "Usage:  docker [OPTIONS] COMMAND",
        "",
        "dockbell: the docker CLI in Slack. Type `/docker COMMAND`.",
        "",
        "Commands:",
    ]
    lines += [f"  {c.name.ljust(width)}{c.summary}" for c in cmds]
    if not cmds:
        lines += ["  (none: ask an admin to grant you a role; `/docker whoami` shows your Slack ID)"]
    lines += ["", "Run '/docker COMMAND --help' for more information on a command."]
    return "\n".join(lines)
