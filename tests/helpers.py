"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import html
import re
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot.fakeslack import FakeSlack, SlackSender
from bot.slack.render import NO_OUTPUT

ACK_DEADLINE = 3.0

T = TypeVar("T")


async def run_command(
    slack: SlackSender,
    fake: FakeSlack,
    text: str,
    *,
    user_id: str = "U_ALICE",
    channel_id: str = "C_GENERAL",
    timeout: float = 15.0,
) -> dict[str, Any]:
    """Send `/docker TEXT` signed, check the ack, return the message posted to its response_url."""
    ack = await slack.command(text, user_id=user_id, channel_id=channel_id)
    assert ack.status == 200, (ack.status, ack.text)
    assert ack.elapsed < ACK_DEADLINE, f"ack took {ack.elapsed:.2f}s"
    post = await fake.wait_for_response(lambda p: p.url == ack.response_url, timeout=timeout)
    assert post.status == 200, post
    return dict(post.body)


def all_text(message: dict[str, Any]) -> str:
    parts = [message.get("text", "")]
    for block in message.get("blocks", []):
        if "text" in block and isinstance(block["text"], dict):
            parts.append(block["text"]["text"])
        for el in block.get("elements", []):
            if isinstance(el, dict) and isinstance(el.get("text"), str):
                parts.append(el["text"])
    return "\n".join(parts)


def code_blocks(message: dict[str, Any]) -> list[str]:
    """The monospace blocks of a reply, unescaped back to what a terminal would show."""
    out = []
    for block in message.get("blocks", []):
        text = block.get("text", {}).get("text", "") if block.get("type") == "section" else ""
        if text.startswith("```") and text.endswith("```"):
            body = text[3:-3]
            body = body[1:] if body.startswith("\n") else body
            body = body[:-1] if body.endswith("\n") else body
            out.append(html.unescape(body).replace("`\u200b``", "```"))
    return out


def output_text(message: dict[str, Any]) -> str:
    """The command's output as shown: its code blocks (possibly several) joined back together."""
    parts = []
    for block in message.get("blocks", []):
        if str(block.get("block_id", "")).startswith("out-"):
            parts.append(code_blocks({"blocks": [block]})[0])
    if not parts and NO_OUTPUT in all_text(message):
        return ""
    assert parts, f"no output in {message}"
    return "\n".join(parts)


def first_code(message: dict[str, Any]) -> str:
    blocks = code_blocks(message)
    if not blocks and NO_OUTPUT in all_text(message):
        return ""
    assert blocks, f"no code block in {message}"
    return blocks[0]


def docker_cli(*args: str) -> str:
    """What the real docker CLI prints for the same engine (stdout, trailing newline removed)."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.rstrip("\n")


def button(message: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    for block in message.get("blocks", []):
        for el in block.get("elements", []):
            if isinstance(el, dict) and el.get("action_id") == action_id:
                return el
    return None


async def eventually(check: Callable[[], Awaitable[T | None]], *, what: str, timeout: float = 10.0) -> T:
    """Poll ``check`` until it returns something truthy, and return that: for a state in Redis or
    Docker that no Slack call announces (a fixed sleep would be too short on a busy machine)."""
    deadline = time.monotonic() + timeout
    while not (found := await check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)
    return found


def answer_text(fake: FakeSlack, message: dict[str, Any]) -> str:
    """The output, shown inline or, when too long for a message, uploaded as a file."""
    if any(str(b.get("block_id", "")).startswith("out-") for b in message.get("blocks", [])):
        return output_text(message)
    named = re.search(r"\*([^*]+)\* in your DM", all_text(message))
    assert named, f"no output and no file in {message}"
    uploads = [f for f in fake.files.values() if f.filename == named.group(1) and f.completed]
    assert uploads, f"no uploaded {named.group(1)}"
    return uploads[-1].content.decode()
