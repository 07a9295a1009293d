"""Mentions: what a message asks dockbell (`<@U123> ps -a`), which events are commands, where answers
go, and how a dockbell thread's container is filled into a command that names none."""

from __future__ import annotations

from typing import Any

import pytest

from bot.bootstrap.worker import build_registry
from bot.core import dispatch
from bot.core.mentions import command_text
from bot.core.registry import Registry
from bot.core.types import ThreadRoute
from bot.jobs.thread_target import as_typed, with_subject
from bot.jobs.threads import ThreadSubject
from bot.policy import PolicyError, Subject, load_policy_text, roles_of
from bot.slack.messages import addressed

BOT = "U123"
CID = "0123456789abcdef" * 4
SUBJECT = ThreadSubject("local", CID, "web", "notification")


@pytest.fixture(scope="module")
def registry() -> Registry:
    return build_registry()


@pytest.mark.parametrize(
    ("text", "direct", "expected"),
    [
        ("<@U123> ps -a", False, "ps -a"),
        ("<@U123>ps", False, "ps"),
        ("  <@U123|dockbell>: logs --tail 5 web", False, "logs --tail 5 web"),
        ("<@U123>, restart", False, "restart"),
        ("<@U123>\u00a0ps", False, "ps"),
        ("<@U123>   ", False, None),  # nothing after the mention
        ("<@U123>", False, None),
        ("ask <@U123> ps", False, None),  # not addressed at the start
        ("<@U999> ps", False, None),  # someone else
        ("ps -a", False, None),  # a channel message without the mention
        ("ps -a", True, "ps -a"),  # in a DM the mention is optional
        ("<@U123> ps -a", True, "ps -a"),
        ("<@U999> ps", True, None),  # a DM that starts by mentioning someone else is not a command
        ("", True, None),
        ("<@U123> inspect -f '{{.State.Health.Status}}'", False, "inspect -f '{{.State.Health.Status}}'"),
    ],
)
def test_command_text(text: str, direct: bool, expected: str | None) -> None:
    assert command_text(text, BOT, direct=direct) == expected


def _event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "app_mention",
        "user": "U_A",
        "text": "<@U123> ps",
        "ts": "10.000001",
        "channel": "C1",
    }
    return {**base, **fields}


def test_a_mention_is_answered_in_a_thread_under_it() -> None:
    found = addressed(_event(), BOT, "T1")
    assert found is not None
    assert (found.text, found.route, found.typed_in, found.direct) == (
        "ps",
        ThreadRoute("C1", "10.000001", "10.000001"),
        "",
        False,
    )
    assert found.requester.user_id == "U_A" and found.requester.channel_id == "C1" and found.requester.team_id == "T1"


def test_a_mention_in_a_thread_is_answered_there_and_names_that_thread() -> None:
    found = addressed(_event(ts="12.000001", thread_ts="10.000001"), BOT)
    assert found is not None
    assert found.route == ThreadRoute("C1", "10.000001", "12.000001") and found.typed_in == "10.000001"


def test_a_dm_is_answered_in_the_dm() -> None:
    event = {"type": "message", "channel_type": "im", "user": "U_A", "text": "ps", "ts": "5.000001", "channel": "D1"}
    found = addressed(event, BOT)
    assert found is not None and found.direct and found.route == ThreadRoute("D1", "", "5.000001")
    threaded = addressed({**event, "ts": "6.000001", "thread_ts": "5.000001"}, BOT)
    assert threaded is not None and threaded.route.thread_ts == "5.000001"


@pytest.mark.parametrize(
    "event",
    [
        _event(subtype="message_changed"),
        {"type": "message", "subtype": "message_deleted", "channel": "D1", "ts": "1.1", "channel_type": "im"},
        _event(subtype="bot_message", bot_id="B2", user=None),
        _event(bot_id="B_BOT"),  # an app posting as a user still carries bot_id
        _event(user=BOT),  # dockbell itself
        _event(user=None),
        _event(text="hello <@U123> ps"),
        _event(text="<@U123>"),
        {
            "type": "message",
            "channel_type": "channel",
            "user": "U_A",
            "text": "<@U123> ps",
            "ts": "1.1",
            "channel": "C1",
        },
        _event(channel=""),
    ],
)
def test_events_that_are_not_commands(event: dict[str, Any]) -> None:
    assert addressed(event, BOT) is None


def test_thread_routes_round_trip_and_real_urls_are_not_routes() -> None:
    route = ThreadRoute("C1", "10.000001", "12.000001")
    assert route.url == "thread:C1/10.000001/12.000001" and ThreadRoute.parse(route.url) == route
    assert ThreadRoute.parse(ThreadRoute("D1", "", "5.1").url) == ThreadRoute("D1", "", "5.1")
    for url in ("https://hooks.slack.com/commands/T/1/x", "view:abc", "thread:", "thread:C1/1", "thread:/1/2"):
        assert ThreadRoute.parse(url) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("logs --tail 200", ["logs", CID[:12], "--tail", "200"]),
        ("restart", ["restart", CID[:12]]),
        ("restart -t 1", ["restart", CID[:12], "-t", "1"]),
        ("inspect -f '{{.State.Health.Status}}'", ["inspect", CID[:12], "-f", "{{.State.Health.Status}}"]),
        ("stats --no-stream", ["stats", CID[:12], "--no-stream"]),
        ("container logs -n 5", ["container", "logs", CID[:12], "-n", "5"]),
        ("exec -u root ps", ["exec", "-u", "root", CID[:12], "ps"]),  # exec's flags end at its first argument
        ("top", ["top", CID[:12]]),
    ],
)
def test_a_command_that_names_no_container_gets_the_threads(
    registry: Registry, typed: str, expected: list[str]
) -> None:
    filled = with_subject(typed, SUBJECT, registry, "local")
    assert dispatch.read(filled).words == expected
    inv = dispatch.parse(filled, registry)
    assert inv.args[0] == CID[:12]


@pytest.mark.parametrize(
    "typed",
    [
        "logs web",  # names its container
        "restart web api",
        "exec web ls",
        "exec ls /",  # two words: docker reads the first as the container, and so does dockbell
        "ps",  # lists: no container target
        "images",
        "pull busybox",
        "-H elsewhere logs",  # names a host: the thread's container lives on another
        "logs -H elsewhere",
        "logs --help",
        "lgos",  # unknown: docker's error, as typed
        "logs --tial 5",  # a flag error: as typed
        "logs 'unclosed",
        "",
    ],
)
def test_a_command_that_needs_nothing_is_left_as_typed(registry: Registry, typed: str) -> None:
    assert with_subject(typed, SUBJECT, registry, "local") == typed


def test_a_thread_on_another_host_adds_its_host(registry: Registry) -> None:
    other = ThreadSubject("elsewhere", CID, "web", "job")
    filled = with_subject("logs --tail 5", other, registry, "local")
    inv = dispatch.parse(filled, registry)
    assert inv.host == "elsewhere" and inv.args == [CID[:12]] and inv.opts["tail"] == "5"


@pytest.mark.parametrize("words", [["echo", "a&b", "<x>", "&amp;", "it's", '"q"'], ["logs", "--since", "10m"]])
def test_as_typed_reads_back_to_the_same_words(words: list[str]) -> None:
    assert dispatch.read(as_typed(words)).words == words


def test_channel_bound_roles_do_not_apply_in_a_dm() -> None:
    policy = load_policy_text(
        "roles: {viewer: {allow: [read]}, basics: {allow: [whoami]}}\n"
        "bindings:\n"
        "  - {everyone: true, role: basics}\n"
        "  - {channels: [C0OPS], role: viewer}\n"
        "  - {users: [U0DAVE], channels: [C0OPS], role: viewer}\n",
        "dm-test.yml",
    )
    in_ops = [b.role for b in roles_of(policy, Subject("U0DAVE", frozenset(), "C0OPS"))]
    in_dm = [b.role for b in roles_of(policy, Subject("U0DAVE", frozenset(), "D0DAVE"))]
    assert in_ops == ["basics", "viewer", "viewer"] and in_dm == ["basics"]


def test_a_binding_to_a_dm_is_refused_by_name() -> None:
    with pytest.raises(PolicyError, match=r"'D0DAVE' is a direct message: roles cannot be bound to DMs"):
        load_policy_text("roles: {viewer: {allow: [read]}}\nbindings:\n  - {channels: [D0DAVE], role: viewer}", "x.yml")
