"""Helpers for the live stream tests: start one, read its thread, wait for its end."""

from __future__ import annotations

import html
import time

from bot.fakeslack import FakeSlack, Message, SlackSender
from tests.helpers import all_text, eventually, run_command

CHANNEL = "C_GENERAL"


def _header(fake: FakeSlack, command: str, since: float) -> Message | None:
    for message in fake.messages.get(CHANNEL, []):
        text = all_text(message.to_dict())
        fresh = message.thread_ts is None and float(message.ts) >= since - 1
        if fresh and command in text and ("following" in text or "followed" in text):
            return message
    return None


async def start_stream(slack: SlackSender, fake: FakeSlack, command: str, user: str = "U_ALICE") -> Message:
    """Type ``command``; the stream's header message once it is in the channel."""
    since = time.time()
    answer = await run_command(slack, fake, command, user_id=user, channel_id=CHANNEL)
    assert "Streaming" in all_text(answer), all_text(answer)

    async def posted() -> Message | None:
        return _header(fake, command, since)

    return await eventually(posted, what=f"the header of {command!r}")


def replies(fake: FakeSlack, header: Message) -> list[Message]:
    return [m for m in fake.thread(CHANNEL, header.ts) if m.ts != header.ts]


def shown_lines(fake: FakeSlack, header: Message) -> list[str]:
    """Every output line of the thread, in order (code blocks of the output messages)."""
    lines: list[str] = []
    for message in replies(fake, header):
        for block in message.blocks or []:
            text = (block.get("text") or {}).get("text", "")
            if text.startswith("```"):
                body = html.unescape(text.removeprefix("```\n").removesuffix("\n```"))
                lines.extend(body.split("\n"))
    return lines


async def ended(fake: FakeSlack, header: Message, timeout: float = 30.0) -> str:
    """The thread's "Stream ended" line, once there."""

    async def note() -> str | None:
        for message in replies(fake, header):
            if message.text.startswith("Stream ended"):
                return message.text
        return None

    return await eventually(note, what="the stream's end in its thread", timeout=timeout)
