"""Process settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ConfigError

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_CONFIG_PATH = "config/dockbell.yml"

# The variables that may instead come from a file named by <NAME>_FILE, so that the
# value need not sit in `docker inspect` or the process environment.
FILE_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "REDIS_URL",
    "DOCKBELL_QUEUE_SECRET",
)


def read_secret(env: Mapping[str, str], name: str) -> str:
    """NAME's value, or the stripped content of the file that NAME_FILE names ("" when neither).

    Docker secrets' convention (`/run/secrets/...`). An empty variable counts as unset, since
    compose passes `NAME=` from a .env file as an empty string.
    """
    file_var = f"{name}_FILE"
    path = env.get(file_var, "")
    value = env.get(name, "")
    if not path:
        return value
    if value:
        raise ConfigError(f"both {name} and {file_var} are set: set only one")
    try:
        content = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else "not UTF-8 text"
        raise ConfigError(f"{file_var}: cannot read {path}: {reason}") from None
    if not content:
        raise ConfigError(f"{file_var}: {path} is empty")
    return content


@dataclass(frozen=True)
class Settings:
    """Everything dockbell reads from its environment.

    SLACK_BOT_TOKEN        bot token (xoxb-...); required by `serve`
    SLACK_SIGNING_SECRET   request signing secret; required by `serve` in HTTP mode
    SLACK_APP_TOKEN        app-level token (xapp-...); when set, `serve` uses Socket Mode
    SLACK_API_URL          Web API base URL (default https://slack.com/api/); tests point it at a fake
    REDIS_URL              default redis://localhost:6379/0; a password as redis://:PASSWORD@host:6379/0,
                           TLS as rediss://...?ssl_ca_certs=/path/ca.pem (see docs/operations.md)
    DOCKBELL_QUEUE_SECRET  secret shared by `serve` and the workers; signs the entries serve enqueues
                           (default empty: unset)
    DOCKER_HOST            docker's own convention (unset: the local socket)
    DOCKBELL_CONFIG        YAML config path (default config/dockbell.yml)
    DOCKBELL_LOG_LEVEL     logging level name (default INFO)

    SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, REDIS_URL and DOCKBELL_QUEUE_SECRET
    may instead be read from a file: NAME_FILE=/run/secrets/name holds the path, and the file's
    content, stripped of surrounding whitespace, is the value. Setting both NAME and NAME_FILE,
    or naming a file that cannot be read or is empty, is a ConfigError.
    """

    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str | None
    slack_api_url: str
    redis_url: str
    docker_host: str | None
    config_path: str
    log_level: str
    queue_secret: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the environment; raises ConfigError for a bad *_FILE variable."""
        env = os.environ if env is None else env
        api_url = env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
        if not api_url.endswith("/"):
            api_url += "/"
        secrets = {name: read_secret(env, name) for name in FILE_VARIABLES}
        return cls(
            slack_bot_token=secrets["SLACK_BOT_TOKEN"],
            slack_signing_secret=secrets["SLACK_SIGNING_SECRET"],
            slack_app_token=secrets["SLACK_APP_TOKEN"] or None,
            slack_api_url=api_url,
            redis_url=secrets["REDIS_URL"] or DEFAULT_REDIS_URL,
            docker_host=env.get("DOCKER_HOST") or None,
            config_path=env.get("DOCKBELL_CONFIG") or DEFAULT_CONFIG_PATH,
            log_level=(env.get("DOCKBELL_LOG_LEVEL") or "INFO").upper(),
            queue_secret=secrets["DOCKBELL_QUEUE_SECRET"],
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

    def require_working(self) -> None:
        """A worker answers in Slack and must check every entry's signature."""
        missing = [
            name
            for name, value in (("SLACK_BOT_TOKEN", self.slack_bot_token), ("DOCKBELL_QUEUE_SECRET", self.queue_secret))
            if not value
        ]
        if missing:
            raise ConfigError("missing required environment variable(s): " + ", ".join(missing))
