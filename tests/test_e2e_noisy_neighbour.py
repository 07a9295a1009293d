"""No noisy neighbour (issue 8, item 1): signed requests from a viewer, the least role that can send them.

A hostile template gets a clear, short error (its budget, or the command's time limit), and
while it runs, other people's answers still come: asserted in events (the admin's answer
arrived while the viewer's were still running), not in seconds on a shared machine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from bot.config import Config, LimitsConfig
from bot.fakeslack import FakeSlack, ResponsePost, SlackSender
from bot.jobs.inbox import COMMAND_VERB
from bot.jobs.queue import JobQueue, job_id_for
from bot.jobs.queue.signing import Signer
from bot.slack.render import SHARE_ACTION
from tests.conftest import QUEUE_SECRET, SIGNING_SECRET, bot_settings, make_test_config, wait_for_worker
from tests.helpers import all_text, button, eventually, run_command
from tests.rig import Containers, RedisServer
from tests.stack import Stack, start_stack

pytestmark = pytest.mark.asyncio(loop_scope="session")

VIEWER, OPS = "U_VIEWER", "C_OPS"  # a viewer in C_OPS, nothing more
SPLIT_JOIN = """version -f '{{range 3000}}{{if (join (split (printf "%0100000d" 0) "") ",")}}{{end}}{{end}}'"""
WIDE_VERSION = """version -f '{{range 2000}}{{printf "%02000d" 0}}{{end}}'"""
WIDE_PS = """ps -a -n 3 --format '{{range 2000}}{{printf "%02000d" 0}}{{end}}'"""
HEAVY = """'{{range 1500}}{{len (printf "%0100000d" 0)}}{{end}}'"""  # about a third of a budget per document


@pytest.fixture(scope="module")
def target(containers: Containers) -> str:
    return containers.run("noisy", ["sleep", "3600"])


@pytest.mark.parametrize(
    ("command", "wording"),
    [
        (SPLIT_JOIN, "template too expensive: more work than dockbell allows one command"),
        (WIDE_VERSION, "output longer than 2000000 characters (dockbell's limit for one command)"),
        (WIDE_PS, "failed to execute template: template: :1:16"),  # the probe ps runs, on no row at all
    ],
)
async def test_a_hostile_template_gets_a_clear_error(
    slack: SlackSender, fake_slack: FakeSlack, command: str, wording: str
) -> None:
    text = all_text(await run_command(slack, fake_slack, command, user_id=VIEWER, channel_id=OPS))
    assert wording in text
    assert "Traceback" not in text and "incident" not in text


async def test_inspect_of_many_documents_has_one_budget(slack: SlackSender, fake_slack: FakeSlack, target: str) -> None:
    one = all_text(await run_command(slack, fake_slack, f"inspect -f {HEAVY} {target}", user_id=VIEWER, channel_id=OPS))
    assert "100000100000" in one and "too expensive" not in one
    many = all_text(
        await run_command(slack, fake_slack, f"inspect -f {HEAVY} " + f"{target} " * 8, user_id=VIEWER, channel_id=OPS)
    )
    assert "template too expensive: more work than dockbell allows one command" in many


async def test_an_admins_ps_is_answered_while_viewers_hostile_templates_run(
    slack: SlackSender, fake_slack: FakeSlack, redis_server: RedisServer, bot: Stack
) -> None:
    # Two viewers, two each: what the pool takes from one person (one running, one waiting).
    viewers = [f"{VIEWER}{n}" for n in (1, 2) for _ in range(2)]
    acks = [await slack.command(SPLIT_JOIN, user_id=user, channel_id=OPS) for user in viewers]
    urls = [str(ack.response_url) for ack in acks]
    queue = JobQueue(bot.workers["local"].worker.redis, signer=Signer.from_secret(QUEUE_SECRET))

    async def all_running() -> bool:
        jobs = [await queue.get(job_id_for("local", COMMAND_VERB, url, "")) for url in urls]
        return all(job is not None and str(job.status) in ("running", "succeeded", "failed") for job in jobs)

    await eventually(all_running, what="the worker to run the viewers' commands")
    admin = await run_command(slack, fake_slack, "ps", user_id="U_ALICE")
    answered = {post.url for post in fake_slack.response_posts}
    # Each viewer's second command waits for their first; the admin's waited for neither.
    assert any(url not in answered for url in urls), "the admin's ps waited for the hostile templates"
    assert "CONTAINER ID" in all_text(admin)
    for url in urls:
        post = await fake_slack.wait_for_response(_to(url), timeout=30)
        assert "template too expensive" in all_text(dict(post.body))


async def test_a_third_hostile_template_of_one_viewer_is_refused_at_once(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    urls = [str((await slack.command(SPLIT_JOIN, user_id=VIEWER, channel_id=OPS)).response_url) for _ in range(3)]
    texts = [all_text(dict((await fake_slack.wait_for_response(_to(url), timeout=30)).body)) for url in urls]
    assert sum("template too expensive" in t for t in texts) == 2
    assert sum("still evaluating your earlier templates, so it did not finish this one" in t for t in texts) == 1


def _to(url: str) -> Callable[[ResponsePost], bool]:
    return lambda post: post.url == url


async def test_an_answer_too_large_to_keep_is_shown_but_not_shareable(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user(VIEWER, "viewer")  # the file goes to their DM
    # 1.2 MB: within the output budget, over what an answer may keep in Redis for sharing.
    reply = await run_command(
        slack, fake_slack, """version -f '{{range 600}}{{printf "%02000d" 0}}{{end}}'""", user_id=VIEWER, channel_id=OPS
    )
    text = all_text(reply)
    assert "too long for a message" in text and "Too large to share" in text
    assert button(reply, SHARE_ACTION) is None
    assert any(f.content == b"0" * 1_200_000 for f in fake_slack.files.values())


# -- the wall-clock limit ------------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def hasty_bot(fake_slack: FakeSlack) -> AsyncIterator[tuple[Stack, SlackSender]]:
    """A dockbell whose commands may take 1 s, with its own Redis (its worker must be the only one)."""
    own_redis = RedisServer.start()
    base = make_test_config()
    config = Config(**{**base.__dict__, "limits": LimitsConfig(command_seconds=1)})
    stack = await start_stack(bot_settings(fake_slack, own_redis.url), config)
    await wait_for_worker(own_redis.url, "local")
    fake_slack.reset()
    sender = SlackSender(fake_slack, stack.url + "/slack/events", SIGNING_SECRET)
    yield stack, sender
    await sender.close()
    await stack.stop()
    own_redis.stop()


async def test_a_command_past_its_time_limit_is_stopped_with_a_short_answer(
    hasty_bot: tuple[Stack, SlackSender], fake_slack: FakeSlack, target: str
) -> None:
    _, sender = hasty_bot
    # A stats sample takes about 2 s: the engine waits for a second reading.
    text = all_text(
        await run_command(sender, fake_slack, f"stats --no-stream {target}", user_id=VIEWER, channel_id=OPS)
    )
    assert "dockbell stopped this command after 1 s (its time limit)." in text
    assert "Traceback" not in text and "incident" not in text
    # The slot it held is free again: the next command is answered.
    assert "Version" in all_text(await run_command(sender, fake_slack, "version", user_id=VIEWER, channel_id=OPS))
