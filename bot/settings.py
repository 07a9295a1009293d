"""Process settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import ConfigError

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_CONFIG_PATH = "config/dockbell.yml"


@dataclass(frozen=True)
class Settings:
    """Everything dockbell reads from its environment.

    SLACK_BOT_TOKEN       bot token (xoxb-...); required by `serve`
    SLACK_SIGNING_SECRET  request signing secret; required by `serve` in HTTP mode
    SLACK_APP_TOKEN       app-level token (xapp-...); when set, `serve` uses Socket Mode
    SLACK_API_URL         Web API base URL (default https://slack.com/api/); tests point it at a fake
    REDIS_URL             default redis://localhost:6379/0
    DOCKER_HOST           docker's own convention (unset: the local socket)
    DOCKBELL_CONFIG       YAML config path (default config/dockbell.yml)
    DOCKBELL_LOG_LEVEL    logging level name (default INFO)
    """

    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str | None
    slack_api_url: str
    redis_url: str
    docker_host: str | None
    config_path: str
    log_level: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        api_url = env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
        if not api_url.endswith("/"):
            api_url += "/"
        return cls(
            slack_bot_token=env.get("SLACK_BOT_TOKEN", ""),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            slack_app_token=env.get("SLACK_APP_TOKEN") or None,
            slack_api_url=api_url,
            redis_url=env.get("REDIS_URL") or DEFAULT_REDIS_URL,
            docker_host=env.get("DOCKER_HOST") or None,
            config_path=env.get("DOCKBELL_CONFIG") or DEFAULT_CONFIG_PATH,
            log_level=(env.get("DOCKBELL_LOG_LEVEL") or "INFO").upper(),
        )

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def require_serving(self) -> None:
        """Fail at start-up, naming the variable, rather than on the first request."""
        missing = []
        if not self.slack_bot_token:
            missing.append("SLACK_BOT_TOKEN")
        # An empty secret makes slack_sdk answer 500 to every request (it fails lazily).
        if not self.socket_mode and not self.slack_signing_secret:
            missing.append("SLACK_SIGNING_SECRET")
        if missing:
            raise ConfigError("missing required environment variable(s): " + ", ".join(missing))
        if not self.slack_bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token (xoxb-...)")
        if self.slack_app_token is not None and not self.slack_app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-...)")
