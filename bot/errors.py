"""The one error tree of dockbell.

Everything a user can cause derives from :class:`UserError`; its text is safe to
show in Slack as is.  Anything else that escapes a handler is a bug or an outage:
the runner logs it with an incident id and shows a short failure instead of a
traceback::

    DockbellError
    ├── UserError                  text safe to show; optional usage
    │   ├── ParseError             the docker CLI grammar (unknown flag, missing argument)
    │   ├── UnknownCommand         `docker: 'pss' is not a docker command.` + did-you-mean
    │   ├── NotAvailableYet        a real docker feature dockbell does not offer yet
    │   ├── UnknownHost            -H NAME that the config does not know
    │   ├── TemplateError          a --format template that does not parse or run
    │   │   └── GoTemplateError    (bot.cli_output.gotemplate) Go's own wording
    │   ├── DockerError            the engine refused, worded as the docker CLI words it
    │   │   ├── NotFound           `Error response from daemon: No such container: x`
    │   │   └── DockerUnavailable  the engine cannot be reached (or its socket is not ours)
    │   ├── ServiceUnavailable     Redis or Slack down, or a host with no live worker
    │   │   └── QueueUnavailable   (bot.jobs.queue) Redis, seen by the queue
    │   ├── JobNotFound            (bot.jobs.queue) no job with that id
    │   └── Denied                 (bot.jobs.gate) the policy refused; names the rule
    ├── HelpRequested              --help / help CMD: carries the help text, not an error
    ├── ConfigError                settings or YAML config wrong: at start-up and in `check`
    └── SlackRefused               a Slack Web API call answered ok=false, with its code
"""

from __future__ import annotations


class DockbellError(Exception):
    """Base of every error dockbell raises on purpose."""


class UserError(DockbellError):
    """An error whose message is meant for the person who typed the command."""

    def __init__(self, message: str, *, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage

    def render(self) -> str:
        if self.usage:
            return f"{self.message}\n\n{self.usage}"
        return self.message


class ParseError(UserError):
    """The command line does not follow the docker CLI grammar (unknown flag, bad value...)."""


class UnknownCommand(UserError):
    """`docker: 'pss' is not a docker command.` with a did-you-mean."""


class NotAvailableYet(UserError):
    """A real docker feature that dockbell does not offer (yet); never silently ignored."""


class HelpRequested(DockbellError):
    """`--help` or `help CMD`: not an error for the user, it carries the help text."""

    def __init__(self, text: str, *, general: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.general = general  # the command list, which is filtered to what the caller may run


class UnknownHost(UserError):
    """-H NAME (or a channel's host) that the config does not know."""


class TemplateError(UserError):
    """A --format template that cannot be parsed or executed."""


class DockerError(UserError):
    """The Docker engine refused or failed; message worded like the docker CLI's."""


class NotFound(DockerError):
    """`Error response from daemon: No such container: x`."""


class DockerUnavailable(DockerError):
    """The engine cannot be reached at all."""


class ServiceUnavailable(UserError):
    """A dependency other than Docker (Redis, Slack) is down; says which and where."""


class ConfigError(DockbellError):
    """The settings or the YAML config are wrong; raised at start-up and by `dockbell check`."""


class SlackRefused(DockbellError):
    """A Slack Web API call answered ok=false; ``code`` is Slack's error (not_in_channel, ...).

    bot.slack.out raises it in place of slack_sdk's SlackApiError, so nothing outside
    bot.slack needs slack_sdk to tell one refusal from another.
    """

    def __init__(self, code: str) -> None:
        super().__init__(f"Slack refused the call ({code})")
        self.code = code
