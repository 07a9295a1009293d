"""Every command gets an answer, however long or strange the line (issue 8, item 5).

The probe sent 291 hostile lines and 31 got nothing: Slack refused the answer's blocks
(``invalid_blocks``) because the echoed command, or an error quoting it, was over a limit
once escaped.  Here the same kinds of line go through serve and the worker as signed
requests from someone with only the everyone ``basics`` role, and each must be answered:
the response_url POST accepted by the fake Slack, which checks Block Kit's limits.
"""

from __future__ import annotations

import pytest

from bot.fakeslack import FakeSlack, SlackSender
from tests.helpers import ACK_DEADLINE, all_text

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOBODY = "U_HOSTILE"  # bound to nothing: only the everyone basics (help, whoami, can-i)

LINES = {
    "long word": "x" * 2_990,
    "long unknown command": "y" * 40_000,
    "ampersands in a refused ps": "ps " + "&" * 600,
    "ampersands past a section": "ps --filter name=" + "&" * 3_000,
    "angles": "logs " + "<" * 1_500 + ">" * 1_500,
    "mentions": "inspect " + "<!channel>" * 400,
    "emoji": "logs " + "\U0001f600" * 1_600,
    "backticks": "logs " + "`" * 4_000,
    "fences": "inspect '" + "```" * 1_200 + "'",
    "newlines": "logs '" + "a\n" * 2_000 + "'",
    "unclosed quote": "logs 'web " + "&" * 1_000,
    "dangling escape": "ps " + "x" * 3_000 + "\\",
    "whoami with arguments": "whoami " + "&<>" * 1_000,
    "help for a long name": "help " + "z" * 3_000,
    "can-i a long name": "can-i inspect " + "n" * 3_000,
    "can-i a hostile name": "can-i logs " + "&`<" * 1_000,
    "unknown host": "-H " + "h" * 3_000 + " ps",
    "unknown host of ampersands": "-H '" + "&" * 1_000 + "' ps",
    "smart quotes": "logs \u201c" + "&" * 700 + "\u201d",
    "a long flag": "ps --" + "f" * 3_000,
}


def slack_escaped(text: str) -> str:
    """What Slack sends for a typed line: &, < and > arrive as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.mark.parametrize("line", LINES.values(), ids=LINES.keys())
async def test_every_hostile_line_is_answered(slack: SlackSender, fake_slack: FakeSlack, line: str) -> None:
    ack = await slack.command(slack_escaped(line), user_id=NOBODY, channel_id="C_GENERAL")
    assert ack.status == 200 and ack.elapsed < ACK_DEADLINE, (ack.status, ack.elapsed)
    post = await fake_slack.wait_for_response(lambda p: p.url == ack.response_url, timeout=20.0)
    assert post.status == 200, post.response  # accepted: not invalid_blocks, not no_text
    shown = fake_slack.response_posts
    answered = [p for p in shown if p.url == ack.response_url]
    assert all(p.status == 200 for p in answered), [p.response for p in answered]
    assert all_text(post.body).strip()
