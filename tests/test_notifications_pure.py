"""The pure parts of crash notifications: config validation, classification, explanations, rendering limits."""

from __future__ import annotations

import pytest

from bot.config import parse_config
from bot.core.redact import Redactor
from bot.errors import ConfigError
from bot.fakeslack.blockkit import validate_blocks
from bot.jobs.watcher.classify import Classifier, Event
from bot.jobs.watcher.clicks import command_for_click
from bot.jobs.watcher.coalesce import fold_lines, next_posts
from bot.jobs.watcher.facts import Baseline, changes_since, explain_exit, log_excerpt
from bot.policy import yaml_with_lines
from bot.slack import render_notifications as rn


def _config(text: str) -> object:
    data, lines = yaml_with_lines(text, "n.yml")
    return parse_config(data, "n.yml", lines)


def test_the_section_is_validated_with_file_line_and_key() -> None:
    with pytest.raises(ConfigError) as err:
        _config(
            "notifications:\n"
            "  channel: alerts\n"
            "  routes:\n"
            "    - {on: {lables: {team: x}}, channel: C0PAY}\n"
            "  log_lines: 900\n"
            "  breaker: {crashes: 1}\n"
        )
    text = str(err.value)
    assert "n.yml:2: notifications.channel: expected a Slack channel ID" in text
    assert "n.yml:4: notifications.routes[0].on.lables: unknown key 'lables' (did you mean 'labels'?)" in text
    assert "n.yml:5: notifications.log_lines" in text
    assert "notifications.breaker.crashes" in text
    assert "4 problems" in text


def test_a_documented_section_loads() -> None:
    config = _config(
        "notifications:\n"
        "  channel: C0ALERTS\n"
        "  routes: [{on: {labels: {team: payments}}, channel: C0PAYMENTS}]\n"
        "  log_lines: 20\n"
        "  unhealthy_after: 1m\n"
    )
    notify = config.notifications  # type: ignore[attr-defined]
    assert notify.channel == "C0ALERTS" and notify.channels == ["C0ALERTS", "C0PAYMENTS"]
    assert notify.unhealthy_after_seconds == 60 and notify.log_lines == 20
    assert _config("output: {}\n").notifications is None  # type: ignore[attr-defined]


def _event(action: str, ns: int, cid: str = "c1", **attrs: str) -> Event:
    return Event(ns, action, cid, "web", "img", {"name": "web", **attrs})


def test_a_die_without_a_kill_is_a_crash_at_once_and_oom_only_with_the_oom_event() -> None:
    c = Classifier()
    assert [f.kind for f in c.feed(_event("die", 1, exitCode="3"))] == ["crash"]
    c.feed(_event("oom", 2))
    found = c.feed(_event("die", 3, exitCode="137"))
    assert found[0].kind == "crash" and found[0].oom
    found = c.feed(_event("die", 4, exitCode="137"))
    assert not found[0].oom  # 137 alone is not OOM


def test_a_kill_then_die_waits_for_stop_destroy_or_a_redeploy() -> None:
    clock = [0.0]
    c = Classifier(clock=lambda: clock[0])
    c.feed(_event("kill", 1, signal="15"))
    assert c.feed(_event("die", 2, exitCode="143")) == []
    assert [(f.kind, f.how) for f in c.feed(_event("stop", 3))] == [("intended", "stopped")]
    c.feed(_event("kill", 4, cid="c2"))
    c.feed(_event("die", 5, cid="c2", exitCode="137"))
    assert [f.how for f in c.feed(_event("destroy", 6, cid="c2")) if f.kind == "intended"] == ["removed"]
    svc = {"com.docker.compose.project": "p", "com.docker.compose.service": "web"}
    c.feed(_event("kill", 7, cid="c3", **svc))
    c.feed(_event("die", 8, cid="c3", exitCode="137", **svc))
    assert [f.how for f in c.feed(_event("create", 9, cid="c4", **svc))] == ["redeployed"]
    c.feed(_event("kill", 10, cid="c5"))
    c.feed(_event("die", 11, cid="c5", exitCode="137"))
    assert c.tick() == []
    clock[0] = 2.0
    assert [f.kind for f in c.tick()] == ["crash"]  # an outside kill
    assert c.earliest_pending() is None


def test_events_come_from_dockers_shape() -> None:
    raw = {
        "Type": "container",
        "Action": "health_status: unhealthy",
        "Actor": {"ID": "abc", "Attributes": {"name": "web", "image": "img", "team": "x"}},
        "timeNano": 1796004684996504873,
    }
    event = Event.from_docker(raw)
    assert event is not None and event.action == "health_status" and event.status == "unhealthy"
    assert event.labels == {"team": "x"} and event.key.startswith("1796004684996504873:abc")
    assert Event.from_docker({"Type": "network", "Action": "connect"}) is None


@pytest.mark.parametrize(
    ("code", "oom", "words"),
    [
        (137, False, "killed (SIGKILL): a stop timeout or an outside kill"),
        (137, True, "out of memory (OOM-killed)"),
        (139, False, "segmentation fault"),
        (143, False, "SIGTERM"),
        (1, False, "general error"),
        (2, False, "misuse"),
        (126, False, "cannot execute"),
        (127, False, "command not found"),
        (134, False, "SIGABRT"),
        (0, False, "restart policy (always)"),
        (42, False, "exited with code 42"),
    ],
)
def test_exit_codes_are_explained(code: int, oom: bool, words: str) -> None:
    text = explain_exit(code, oom=oom, policy="always", memory_limit=8 * 1024 * 1024)
    assert words in text
    if not oom:
        assert "out of memory" not in text


def test_the_log_excerpt_puts_errors_first_and_redacts() -> None:
    logs = "\n".join([*(f"line {i}" for i in range(30)), "ERROR db password=hunter22 refused", "line 31"])
    errors, tail = log_excerpt(logs, 6, Redactor(["hunter22"]))
    assert errors == ["ERROR db password=[REDACTED] refused"]
    assert tail[-1] == "line 31" and len(errors) + len(tail) == 6


def test_forensics_name_env_keys_never_values() -> None:
    before = Baseline("sha256:aaa", "app:1", ("A", "B"), "run --x", "h1", 0.0)
    now = Baseline("sha256:bbb", "app:2", ("A", "SECRET_TOKEN"), "run --y", "h2", 1.0)
    lines = changes_since(before, now, Redactor())
    text = "\n".join(lines)
    assert "app:1" in text and "app:2" in text and "SECRET_TOKEN" in text and "removed: B" in text
    assert "compose config hash" in text and "command" in text
    assert changes_since(before, before, Redactor()) == [
        "nothing changed since it was last healthy (image, env keys, command, compose config)"
    ]


def test_coalescing() -> None:
    assert next_posts(["a"], 3) == (["a"], [])
    assert next_posts(["a", "b"], 3) == (["a"], ["b"])
    assert next_posts(["a", "b", "c"], 3) == (["a", "b", "c"], [])
    taken, rest = fold_lines(["x" * 1500, "y" * 1500, "z"])
    assert taken == ["x" * 1500] and rest == ["y" * 1500, "z"]


def _view(**over: object) -> rn.CrashView:
    base: dict[str, object] = {
        "host": "local",
        "name": "web",
        "image": "img",
        "project": "",
        "kind": "crash",
        "exit_code": 3,
        "explanation": "exited with code 3",
        "restart_policy": "no",
        "restart_count": 0,
        "count": 1,
        "first_seen": 1.0,
        "last_seen": 2.0,
    }
    base.update(over)
    return rn.CrashView(**base)  # type: ignore[arg-type]


def test_messages_stay_within_block_kit_limits_whatever_the_container_says() -> None:
    huge = ("<&>` " * 3000, "x" * 10000)
    view = _view(
        name="n" * 300,
        image="i" * 500,
        error_lines=huge,
        tail_lines=huge,
        health=huge,
        changes=("c" * 5000,),
        loop=True,
        late="l" * 900,
    )
    assert validate_blocks(rn.incident_message(view)["blocks"]) == []
    many = [_view(name=f"c{i:03d}-" + "x" * 30) for i in range(300)]
    summary = rn.summary_message("local", many)
    assert validate_blocks(summary["blocks"]) == []
    for reply in rn.detail_replies([view] * 20):
        assert validate_blocks(reply["blocks"]) == []
    loop_actions = [
        e["action_id"] for b in rn.incident_message(view)["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert loop_actions[0] == rn.STOP_LOOP_ACTION


def test_buttons_are_the_commands_they_stand_for() -> None:
    assert command_for_click(rn.RESTART_ACTION, "local/web") == "-H local restart web"
    assert command_for_click(rn.LOGS_ACTION, "local/web") == "-H local logs --tail 200 web"
    assert command_for_click(rn.STOP_LOOP_ACTION, "h/web") == "-H h update --restart=no web"
    assert command_for_click(rn.SNOOZE_HEALTHY_ACTION, "h/web") == "-H h snooze web healthy"
    assert command_for_click(rn.RESTART_ACTION, "web") is None
    assert command_for_click(rn.RESTART_ACTION, "h/we;b") == "-H h restart 'we;b'"
