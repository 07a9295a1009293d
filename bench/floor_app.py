"""The framework floor for bench/ack.py: a bare slack-bolt AsyncApp on aiohttp that only acks `/docker`.

    python -m bench.floor_app PORT [--before-response]

By default Bolt runs the listener as a task of its own and polls for its ack every
10 ms (process_before_response=False, slack_bolt/listener/asyncio_runner.py), so most of
this floor's ack time is that poll.  ``--before-response`` answers as soon as the
listener returns instead: the floor for an app that runs Bolt that way.
"""

from __future__ import annotations

import argparse
import os

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--before-response", action="store_true", help="process_before_response=True")
    args = parser.parse_args()
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = AsyncApp(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=args.before_response,
    )

    @app.command("/docker")
    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    app.start(port=args.port, path="/slack/events", host="127.0.0.1")


if __name__ == "__main__":
    main()
