"""Issue 8: no existence oracle, and a scoped role sees only its scope — as signed requests, end to end.

Bob's role covers containers labelled team=payments; Dave has only the basics (help, whoami,
can-i); Erin is a viewer on host local only; anyone in C_OPS is a viewer.  For everything a
caller may not see, the reply must be byte for byte the reply to a name that does not exist,
once the typed word is swapped for the other.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from typing import Any

import docker
import pytest

from bot.fakeslack import FakeSlack, SlackSender
from tests.helpers import all_text, docker_cli, output_text, run_command
from tests.rig import TEST_IMAGE, TEST_LABEL, Containers

pytestmark = pytest.mark.asyncio(loop_scope="session")

BOB, DAVE, ERIN, CAROL = "U_BOB", "U_DAVE", "U_ERIN", "U_CAROL"


@pytest.fixture(scope="module")
def pay(containers: Containers) -> str:
    return containers.run("vis-pay", ["sleep", "3600"], labels={"team": "payments"})


@pytest.fixture(scope="module")
def hidden(containers: Containers, pay: str) -> str:
    """Created after ``pay``, so it is the newer of the two (for -n and before=)."""
    return containers.run("vis-search", ["sh", "-c", "echo hidden-line; sleep 3600"], labels={"team": "search"})


def _id(name: str) -> str:
    return docker_cli("inspect", "-f", "{{.Id}}", name)


def _all_ids(api: docker.APIClient) -> list[str]:
    return [str(c["Id"]) for c in api.containers(all=True)]


def _missing_hex(taken: list[str], length: int) -> str:
    """A hex word of ``length`` that is the prefix of nothing in ``taken``."""
    for _ in range(1000):
        word = secrets.token_hex(length)[:length]
        if not any(t.removeprefix("sha256:").startswith(word) for t in taken):
            return word
    raise AssertionError("no free prefix")


def _swap(message: dict[str, Any], word: str, by: str) -> str:
    """The reply as JSON with every whole occurrence of ``word`` (typed, or as docker strips it) replaced."""
    text = json.dumps(message, sort_keys=True)
    text = re.sub(r'"value": "[a-z]+/[A-Za-z0-9_-]+"', '"value": "<SHARE>"', text)  # a Share button's own id
    for variant in dict.fromkeys((word, word.lstrip("/"))):
        text = re.sub(rf"(?<![0-9A-Za-z_.-]){re.escape(variant)}(?![0-9A-Za-z_.-])", by, text)
    return text


async def _same_as_missing(
    slack: SlackSender,
    fake: FakeSlack,
    template: str,
    real: str,
    missing: str,
    *,
    user: str,
    channel: str = "C_GENERAL",
) -> str:
    """Send ``template`` with a word the caller may not see, and with a missing one: the replies must match."""
    got = await run_command(slack, fake, template.format(real), user_id=user, channel_id=channel)
    want = await run_command(slack, fake, template.format(missing), user_id=user, channel_id=channel)
    assert _swap(got, real, "<WORD>") == _swap(want, missing, "<WORD>"), (all_text(got), all_text(want))
    return all_text(got)


SPELLINGS = [
    "logs {}",
    "container logs {}",
    "logs --tail=1 {}",
    "inspect {}",
    "container inspect {}",
    "inspect --type container {}",
    "inspect -f '{{{{.Name}}}}' {}",
    "top {}",
    "port {}",
    "stats --no-stream {}",
    "can-i inspect {}",
    "can-i logs {}",
    "can-i container top {}",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("form", ["name", "slash", "id64", "id12", "prefix"])
async def test_a_hidden_container_is_answered_as_a_missing_one(
    slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient, hidden: str, spelling: str, form: str
) -> None:
    cid = _id(hidden)
    taken = _all_ids(docker_api)
    word, missing = {
        "name": (hidden, f"dockbell-nosuch-{secrets.token_hex(4)}"),
        "slash": ("/" + hidden, f"/dockbell-nosuch-{secrets.token_hex(4)}"),
        "id64": (cid, _missing_hex(taken, 64)),
        "id12": (cid[:12], _missing_hex(taken, 12)),
        "prefix": (cid[:6], _missing_hex(taken, 6)),
    }[form]
    text = await _same_as_missing(slack, fake_slack, spelling, word, missing, user=BOB)
    rest = text.replace(word, "").replace(word.lstrip("/"), "")  # what was typed is echoed, as docker does
    assert hidden not in rest and cid[:12] not in rest
    assert "hidden-line" not in text and "Not allowed" not in text


async def test_an_ambiguous_prefix_of_hidden_containers_is_missing(
    slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient, containers: Containers, hidden: str
) -> None:
    # Enough hidden containers that some short prefix is shared by two of them.
    for n in range(3):
        containers.run(f"vis-extra-{n}", ["sleep", "3600"], labels={"team": "search"}, start=False)
    items = docker_api.containers(all=True)
    visible = {c["Id"] for c in items if (c.get("Labels") or {}).get("team") == "payments"}
    ids = [str(c["Id"]) for c in items]
    prefix = next(
        (
            p
            for i in ids
            for p in (i[:1], i[:2])
            if i not in visible and sum(x.startswith(p) for x in ids) > 1 and not any(v.startswith(p) for v in visible)
        ),
        None,
    )
    assert prefix is not None
    missing = _missing_hex(ids, 3)
    for spelling in ("logs {}", "inspect {}", "can-i logs {}", "restart {}"):
        text = await _same_as_missing(slack, fake_slack, spelling, prefix, missing, user=BOB)
        assert "Multiple IDs" not in text
    # A viewer who sees every match is told what docker says.
    reply = await run_command(slack, fake_slack, f"logs {prefix}", user_id=CAROL, channel_id="C_OPS")
    assert f"Multiple IDs found with provided prefix: {prefix}" in all_text(reply)


async def test_a_prefix_shared_with_hidden_containers_finds_the_visible_one(
    slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient, containers: Containers
) -> None:
    """Docker without the hidden containers would resolve it uniquely; refusing it would leak that others share it."""

    def payments_ids() -> list[str]:
        items = docker_api.containers(all=True, filters={"label": "team=payments"})
        return [str(c["Id"]) for c in items]

    def visible_alone() -> tuple[str, str]:
        # A payments container whose first hex digit no other payments container has: the
        # whole suite leaves many of them, so the fixture's own may share it with one.
        for n in range(48):
            name = containers.run(f"vis-alone-{n}", ["true"], labels={"team": "payments"}, start=False)
            cid = _id(name)
            if [i for i in payments_ids() if i.startswith(cid[0])] == [cid]:
                return name, cid
            docker_api.remove_container(cid)
        raise AssertionError("no payments container with a first digit of its own")

    def hidden_twin(cid: str) -> None:
        for n in range(96):  # hidden twins until one shares the first hex digit (1 in 16 each)
            if sum(str(c["Id"]).startswith(cid[0]) for c in docker_api.containers(all=True)) > 1:
                return
            containers.run(f"vis-twin-{n}", ["true"], labels={"team": "search"}, start=False)
        raise AssertionError("no hidden container shares a prefix with the visible one")

    # Off the event loop: the in-process worker shares it, and a hundred blocking calls would
    # starve its heartbeat.
    name, cid = await asyncio.to_thread(visible_alone)
    await asyncio.to_thread(hidden_twin, cid)
    reply = await run_command(slack, fake_slack, f"inspect -f '{{{{.Name}}}}' {cid[0]}", user_id=BOB)
    assert output_text(reply) == f"/{name}"
    # Someone who sees them all is told it is ambiguous, as docker tells them.
    reply = await run_command(slack, fake_slack, f"logs {cid[0]}", user_id=CAROL, channel_id="C_OPS")
    assert "Multiple IDs found with provided prefix" in all_text(reply)


@pytest.mark.parametrize(
    "spelling",
    ["inspect {}", "image inspect {}", "inspect --type image {}", "can-i inspect {}", "can-i image inspect {}"],
)
@pytest.mark.parametrize("form", ["sha256", "bare", "tag"])
async def test_a_hidden_image_is_answered_as_a_missing_one(
    slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient, spelling: str, form: str
) -> None:
    image_id = str(docker_api.inspect_image(TEST_IMAGE)["Id"])
    taken = [str(i["Id"]) for i in docker_api.images(all=True)]
    word, missing = {
        "sha256": (image_id[:11], "sha256:" + _missing_hex(taken, 4)),
        "bare": (image_id.removeprefix("sha256:")[:6], _missing_hex(taken, 6)),
        "tag": (TEST_IMAGE, f"dockbell-nosuch/{secrets.token_hex(4)}:latest"),
    }[form]
    text = await _same_as_missing(slack, fake_slack, spelling, word, missing, user=BOB)
    assert "busybox" not in text.replace(word, "")


async def test_the_basics_tell_nothing_about_any_name(
    slack: SlackSender, fake_slack: FakeSlack, docker_api: docker.APIClient, pay: str, hidden: str
) -> None:
    """Dave may not inspect anything: refused before anything is looked up, the same for every word."""
    taken = _all_ids(docker_api)
    for word in (pay, hidden, _id(hidden)[:4], "sha256:" + str(docker_api.inspect_image(TEST_IMAGE)["Id"])[7:11]):
        for spelling in (
            "can-i inspect {}",
            "can-i restart {}",
            "can-i stats {}",
            "logs {}",
            "inspect {}",
            "stats --no-stream {}",
            "restart -t 1 {}",
        ):
            text = await _same_as_missing(slack, fake_slack, spelling, word, _missing_hex(taken, 5), user=DAVE)
            assert "busybox" not in text and pay not in text.replace(word, "")
    reply = await run_command(slack, fake_slack, f"logs {pay}", user_id=DAVE)
    text = all_text(reply)
    # What he lacks and whom to ask; never who holds the role.
    assert "Not allowed" in text and "None of your roles (basics) allows `logs`" in text
    assert "ask #ops or @oncall" in text
    assert "U_ALICE" not in text and "C_OPS" not in text and "held by" not in text


async def test_a_visible_target_is_refused_by_its_rule(slack: SlackSender, fake_slack: FakeSlack, pay: str) -> None:
    reply = await run_command(slack, fake_slack, f"restart {pay}", user_id=BOB)
    text = all_text(reply)
    assert "Not allowed" in text and "Refused by: default: deny" in text and "ask #ops or @oncall" in text
    assert "U_ALICE" not in text
    reply = await run_command(slack, fake_slack, f"can-i logs {pay}", user_id=BOB)
    assert output_text(reply).startswith(f"yes: logs container {pay} on host local")


async def test_ps_filters_and_limits_treat_hidden_as_missing(
    slack: SlackSender, fake_slack: FakeSlack, containers: Containers, pay: str, hidden: str
) -> None:
    session = f"label={TEST_LABEL}={containers.session}"
    for key in ("before", "since"):
        text = await _same_as_missing(
            slack, fake_slack, f"ps -a --filter {key}={{}} --filter {session}", hidden, "dockbell-nosuch-x", user=BOB
        )
        assert "no such container" in text
        reply = await run_command(
            slack, fake_slack, f"ps -a --filter {key}={pay} --format '{{{{.Names}}}}'", user_id=BOB
        )
        assert "no such container" not in all_text(reply)
    # -n and -l count what Bob sees: the newest container of the session is hidden from him.
    late = containers.run("vis-late", ["sleep", "3600"], labels={"team": "search"})
    for limit in ("-n 1", "-l"):
        reply = await run_command(
            slack, fake_slack, f"ps {limit} --filter {session} --format '{{{{.Names}}}} {{{{.Labels}}}}'", user_id=BOB
        )
        rows = output_text(reply).splitlines()
        assert len(rows) == 1 and "team=payments" in rows[0], rows
        assert late not in rows[0] and hidden not in rows[0]
    reply = await run_command(
        slack, fake_slack, f"ps -n 2 --filter {session} --format '{{{{.Names}}}}'", user_id=CAROL, channel_id="C_OPS"
    )
    assert output_text(reply).splitlines()[0] == late


async def test_jobs_show_only_what_the_caller_may_see(
    slack: SlackSender, fake_slack: FakeSlack, pay: str, hidden: str
) -> None:
    for name in (pay, hidden):
        since = len(fake_slack.calls)
        ack = await slack.command(f"restart -t 0 {name}", user_id="U_ALICE")
        assert ack.status == 200
        await fake_slack.wait_for_call("chat.postMessage", lambda c, n=name: n in json.dumps(c.args), since=since)
    alice = output_text(await run_command(slack, fake_slack, "jobs -a"))
    assert f"restart -t 0 {pay}" in alice and f"restart -t 0 {hidden}" in alice
    reply = await run_command(slack, fake_slack, "jobs -a", user_id=BOB)
    table = output_text(reply)
    assert f"restart -t 0 {pay}" in table
    assert hidden not in table
    assert "docker command" not in table  # serve's entries carry people's commands: not jobs to list
    # A hidden job cannot be cancelled, and is not told apart from one that never was.
    job_id = next(line.split()[0] for line in alice.splitlines() if hidden in line)
    missing = "j-" + secrets.token_hex(5)
    got = await run_command(slack, fake_slack, f"jobs cancel {job_id}", user_id=BOB)
    want = await run_command(slack, fake_slack, f"jobs cancel {missing}", user_id=BOB)
    assert _swap(got, job_id, "<JOB>") == _swap(want, missing, "<JOB>")


async def test_hosts_lists_the_callers_hosts_and_scope(
    slack: SlackSender, fake_slack: FakeSlack, pay: str, hidden: str
) -> None:
    alice = _rows(output_text(await run_command(slack, fake_slack, "hosts")))
    bob = _rows(output_text(await run_command(slack, fake_slack, "hosts", user_id=BOB)))
    erin = _rows(output_text(await run_command(slack, fake_slack, "hosts", user_id=ERIN)))
    assert set(alice) == {"local (default)", "elsewhere"} and set(bob) == set(alice)
    assert set(erin) == {"local (default)"}  # her role is on local only: elsewhere is not hers to know
    # Bob's counts are of his scope: fewer containers than the host has, none of the images.
    assert int(bob["local (default)"]["CONTAINERS"]) < int(alice["local (default)"]["CONTAINERS"])
    assert bob["local (default)"]["IMAGES"] == "0"
    reply = await run_command(slack, fake_slack, "hosts", user_id=DAVE)
    assert "Not allowed" in all_text(reply)


def _rows(table: str) -> dict[str, dict[str, str]]:
    lines = table.splitlines()
    header = re.split(r"\s{2,}", lines[0].strip())
    rows = {}
    for line in lines[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = dict(zip(header, cells, strict=False))
    return rows


@pytest.mark.parametrize("user", [DAVE, BOB])
async def test_an_unknown_host_names_no_hosts(slack: SlackSender, fake_slack: FakeSlack, user: str) -> None:
    for text in ("-H nope ps", "ps -H nope", "-H locl ps", "--host=elsewher can-i ps"):
        reply = all_text(await run_command(slack, fake_slack, text, user_id=user))
        assert "unknown Docker host" in reply
        assert "local" not in reply.replace("locl", "") and "elsewhere" not in reply.replace("elsewher", "")


async def test_run_with_the_name_of_a_hidden_container_does_not_tell_its_id(
    slack: SlackSender, fake_slack: FakeSlack, hidden: str
) -> None:
    hidden_id = _id(hidden)
    line = f"run -d --name {hidden} -l team=payments {TEST_IMAGE} true"
    reply = all_text(await run_command(slack, fake_slack, line, user_id="U_PAYRUN"))
    assert f'The container name "/{hidden}" is already in use by another container' in reply, reply
    assert hidden_id[:12] not in reply and hidden_id not in reply
