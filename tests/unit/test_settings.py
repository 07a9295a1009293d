"""Settings from the environment, and secrets from files (Docker secrets' convention)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import DEFAULT_REDIS_URL, FILE_VARIABLES, Settings

pytestmark = pytest.mark.unit

FIELD = {
    "SLACK_BOT_TOKEN": "slack_bot_token",
    "SLACK_SIGNING_SECRET": "slack_signing_secret",
    "SLACK_APP_TOKEN": "slack_app_token",
    "REDIS_URL": "redis_url",
    "DOCKBELL_QUEUE_SECRET": "queue_secret",
}


def test_defaults_from_an_empty_environment() -> None:
    s = Settings.from_env({})
    assert s.slack_bot_token == ""
    assert s.slack_app_token is None
    assert s.redis_url == DEFAULT_REDIS_URL
    assert s.queue_secret == ""
    assert s.log_level == "INFO"


def test_queue_secret_from_the_environment() -> None:
    assert Settings.from_env({"DOCKBELL_QUEUE_SECRET": "s3cret"}).queue_secret == "s3cret"


@pytest.mark.parametrize("name", FILE_VARIABLES)
def test_each_secret_may_come_from_a_file_stripped(name: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    value = "xapp-1-abc" if name == "SLACK_APP_TOKEN" else "value-from-file"
    secret.write_text(f"  {value}\n\n", encoding="utf-8")
    s = Settings.from_env({f"{name}_FILE": str(secret)})
    assert getattr(s, FIELD[name]) == value


def test_every_file_variable_is_documented() -> None:
    doc = Settings.__doc__ or ""
    for name in (*FILE_VARIABLES, "SLACK_API_URL", "DOCKER_HOST", "DOCKBELL_CONFIG", "DOCKBELL_LOG_LEVEL"):
        assert name in doc


@pytest.mark.parametrize("name", FILE_VARIABLES)
def test_both_set_is_an_error_naming_both(name: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: "inline", f"{name}_FILE": str(secret)})
    assert name in str(caught.value)
    assert f"{name}_FILE" in str(caught.value)


def test_an_empty_inline_value_beside_a_file_is_not_a_conflict(tmp_path: Path) -> None:
    # compose passes `SLACK_APP_TOKEN=` from .env as an empty string.
    secret = tmp_path / "token"
    secret.write_text("xoxb-1-2", encoding="utf-8")
    s = Settings.from_env({"SLACK_BOT_TOKEN": "", "SLACK_BOT_TOKEN_FILE": str(secret)})
    assert s.slack_bot_token == "xoxb-1-2"


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "token"
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"SLACK_BOT_TOKEN_FILE": str(missing)})
    message = str(caught.value)
    assert str(missing) in message
    assert "SLACK_BOT_TOKEN_FILE" in message
    assert "No such file or directory" in message


def test_a_directory_is_unreadable_and_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="REDIS_URL_FILE") as caught:
        Settings.from_env({"REDIS_URL_FILE": str(tmp_path)})
    assert str(tmp_path) in str(caught.value)


def test_a_file_that_is_not_text_names_the_path(tmp_path: Path) -> None:
    binary = tmp_path / "blob"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DOCKBELL_QUEUE_SECRET_FILE": str(binary)})
    assert str(binary) in str(caught.value)


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is empty") as caught:
        Settings.from_env({"SLACK_SIGNING_SECRET_FILE": str(empty)})
    assert str(empty) in str(caught.value)


def test_redis_url_from_a_file_keeps_its_password(tmp_path: Path) -> None:
    url_file = tmp_path / "redis_url"
    url_file.write_text("redis://:pa55@redis:6379/0\n", encoding="utf-8")
    assert Settings.from_env({"REDIS_URL_FILE": str(url_file)}).redis_url == "redis://:pa55@redis:6379/0"
