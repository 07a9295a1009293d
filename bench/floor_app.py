"""The framework floor for bench/ack.py: a bare slack-bolt AsyncApp on aiohttp that only acks `/docker`."""

from __future__ import annotations

import os
import sys

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def main() -> None:
    port = int(sys.argv[1])
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @app.command("/docker")
    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    app.start(port=port, path="/slack/events", host="127.0.0.1")


if __name__ == "__main__":
    main()
