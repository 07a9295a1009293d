"""End to end through the permission gate: same command, different people, different answers."""

from __future__ import annotations

import pytest

from bot.fakeslack import FakeSlack, SlackSender
from tests.helpers import all_text, docker_cli, first_code, output_text, run_command
from tests.rig import TEST_LABEL, Containers

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def pay(containers: Containers) -> str:
    return containers.run("pay-api", ["sleep", "3600"], labels={"team": "payments"})


@pytest.fixture(scope="module")
def other(containers: Containers) -> str:
    return containers.run("search-api", ["sh", "-c", "echo search-only-line; sleep 3600"], labels={"team": "search"})


@pytest.fixture(scope="module")
def secretive(containers: Containers) -> str:
    return containers.run("pay-secretive", ["sleep", "3600"], labels={"team": "payments"})


def flt(containers: Containers) -> str:
    return f"label={TEST_LABEL}={containers.session}"


async def test_two_people_same_command_different_answers(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, pay: str, other: str
) -> None:
    fmt = "{{.Names}}"
    alice = await run_command(slack, fake_slack, f"ps --filter {flt(containers)} --format {fmt}", user_id="U_ALICE")
    bob = await run_command(slack, fake_slack, f"ps --filter {flt(containers)} --format {fmt}", user_id="U_BOB")
    assert {pay, other} <= set(output_text(alice).splitlines())
    assert pay in output_text(bob).splitlines()
    assert other not in output_text(bob)


async def test_refusal_names_the_rule_and_touches_nothing(
    slack: SlackSender, fake_slack: FakeSlack, pay: str, other: str
) -> None:
    # A container Bob can see, a verb he lacks: the refusal names the rule and whom to ask.
    reply = await run_command(slack, fake_slack, f"restart {pay}", user_id="U_BOB")
    text = all_text(reply)
    assert "Not allowed" in text and "Refused by:" in text and "#ops or @oncall" in text
    # One he cannot see is not there for him, by name or by ID prefix, and nothing is shown.
    reply = await run_command(slack, fake_slack, f"logs {other}", user_id="U_BOB")
    assert f"No such container: {other}" in all_text(reply) and "search-only-line" not in all_text(reply)
    cid = docker_cli("inspect", "-f", "{{.Id}}", other)[:8]
    reply = await run_command(slack, fake_slack, f"container logs {cid}", user_id="U_BOB")
    assert f"No such container: {cid}" in all_text(reply) and "search-only-line" not in all_text(reply)


async def test_deny_rule_beats_admin(slack: SlackSender, fake_slack: FakeSlack, secretive: str) -> None:
    reply = await run_command(slack, fake_slack, f"logs {secretive}", user_id="U_ALICE")
    assert "these logs are private" in all_text(reply)
    assert "deny[0]" in all_text(reply)


async def test_nobody_gets_only_the_basics(slack: SlackSender, fake_slack: FakeSlack, pay: str) -> None:
    reply = await run_command(slack, fake_slack, "ps", user_id="U_CAROL")
    assert "Not allowed" in all_text(reply)
    reply = await run_command(slack, fake_slack, "help", user_id="U_CAROL")
    listed = [line.split()[0] for line in first_code(reply).splitlines() if line.startswith("  ")]
    assert "whoami" in listed and "can-i" in listed and "audit" in listed
    assert "ps" not in listed and "logs" not in listed


async def test_channel_binding_stays_in_its_channel(slack: SlackSender, fake_slack: FakeSlack, pay: str) -> None:
    reply = await run_command(
        slack, fake_slack, f"inspect -f '{{{{.Name}}}}' {pay}", user_id="U_CAROL", channel_id="C_OPS"
    )
    assert output_text(reply) == f"/{pay}"
    reply = await run_command(
        slack, fake_slack, f"inspect -f '{{{{.Name}}}}' {pay}", user_id="U_CAROL", channel_id="C_GENERAL"
    )
    assert "Not allowed" in all_text(reply)


async def test_whoami_and_can_i(slack: SlackSender, fake_slack: FakeSlack, pay: str, other: str) -> None:
    reply = await run_command(slack, fake_slack, "whoami", user_id="U_CAROL")
    text = output_text(reply)
    assert "U_CAROL" in text and "S_AUDIT" in text and "auditor" in text and "usergroup S_AUDIT" in text
    reply = await run_command(slack, fake_slack, f"can-i logs {pay}", user_id="U_BOB")
    assert output_text(reply).startswith("yes: logs container " + pay)
    # Bob may restart nothing: refused before any lookup, with the name as he typed it.
    reply = await run_command(slack, fake_slack, f"can-i container restart {other}", user_id="U_BOB")
    assert output_text(reply).startswith(f"no: restart {other} on host local")
    assert "rule:" in output_text(reply)
    # The gate runs on the host's own worker: with none for "elsewhere", serve says so at once.
    reply = await run_command(slack, fake_slack, f"can-i logs {pay} -H elsewhere", user_id="U_ALICE")
    assert "host `elsewhere` has no live worker" in all_text(reply)


async def test_audit_records_allowed_and_refused(slack: SlackSender, fake_slack: FakeSlack, other: str) -> None:
    await run_command(slack, fake_slack, f"top {other}", user_id="U_BOB")
    reply = await run_command(slack, fake_slack, f"audit {other} --user U_BOB --denied --since 10m", user_id="U_CAROL")
    table = output_text(reply)
    assert table.startswith("TIME")
    assert f"top {other}" in table and "deny" in table
    # Reading the audit trail is itself a grant: Bob has none.
    reply = await run_command(slack, fake_slack, "audit", user_id="U_BOB")
    assert "Not allowed" in all_text(reply)


@pytest.mark.parametrize(
    "spelling",
    [
        "logs {other}",
        "container logs {other}",
        "logs --tail=1 {other}",
        "logs -n1 -t {other}",
        "logs -- {other}",
        "logs /{other}",
        "inspect {other}",
        "inspect --type container {other}",
        "container inspect {pay} {other}",
        "top {other}",
        "port {other}",
        "stats --no-stream {other}",
        "container stats --no-stream {other}",
        "logs {cid12}",
        "logs {cid64}",
        "ps --filter name={other} --format '{{{{.ID}}}}'",
        "stats --no-stream -a",
    ],
)
async def test_spellings_do_not_get_past_the_gate(
    slack: SlackSender, fake_slack: FakeSlack, pay: str, other: str, spelling: str
) -> None:
    cid = docker_cli("inspect", "-f", "{{.Id}}", other)
    text = spelling.format(other=other, pay=pay, cid12=cid[:12], cid64=cid)
    reply = await run_command(slack, fake_slack, text, user_id="U_BOB")
    shown = all_text(reply) + "\n".join(output_text(reply).splitlines() if "out-0" in str(reply) else [])
    assert "search-only-line" not in shown
    if cid[:12] not in text:  # what was typed is echoed, and named in the error, as docker does
        assert cid[:12] not in shown.replace(text, "")
    if not spelling.startswith(("ps", "stats --no-stream -a")):
        assert "No such container" in shown or "No such object" in shown, shown
    else:
        assert other not in shown.replace(text, "")
