"""`dockbell check`: the config, then every dependency this machine's processes need, one line each."""

from __future__ import annotations

from bot.bootstrap.notify_check import notification_channels
from bot.config import Config
from bot.core.redisconn import redis_client
from bot.engine.hosts import DockerHosts
from bot.ops.health import Status, redis_check
from bot.settings import Settings
from bot.slack.health import auth_check
from bot.slack.out import SlackOut, web_client
from bot.slack.socket_link import check_app_token


async def run_check(settings: Settings, config: Config) -> int:
    print(f"ok    config {config.source}")
    results: dict[str, Status] = {}
    slack = SlackOut(web_client(settings.slack_bot_token, settings.slack_api_url))
    try:
        results["slack"] = await auth_check(slack, cache_seconds=0)()
    finally:
        await slack.close()
    if settings.slack_app_token:
        ok, detail = await check_app_token(settings.slack_api_url, settings.slack_app_token)
        results["socket"] = Status(ok, detail)
    redis = redis_client(settings.redis_url)
    try:
        results["redis"] = await redis_check(redis, settings.redis_url)()
    finally:
        await redis.aclose()
    hosts = DockerHosts(config, settings.docker_host)
    try:
        results["docker"] = await hosts.gateway(config.host).health()
    finally:
        await hosts.close()
    results["secret"] = (
        Status(True, "DOCKBELL_QUEUE_SECRET is set")
        if settings.queue_secret
        else Status(
            False,
            "DOCKBELL_QUEUE_SECRET is missing: separate workers cannot trust serve's entries "
            "(a one-command `dockbell serve` makes one for its own worker)",
        )
    )
    results.update(await notification_channels(settings, config))  # the notifications: section's channels
    for name, status in results.items():
        print(f"{'ok' if status.ok else 'FAIL':<5} {name:<6} {status.detail}")
    return 0 if all(s.ok for s in results.values()) else 1
