"""The config keys of docs/commands.md "Limits": defaults, spellings, and errors that name the key."""

from __future__ import annotations

import pytest

from bot.config import LimitsConfig, OutputConfig, parse_config
from bot.core import shares
from bot.errors import ConfigError


def test_defaults_match_the_documented_ones() -> None:
    config = parse_config({})
    assert config.limits == LimitsConfig(command_seconds=10, evaluation_processes=2)
    assert (config.output.share_max_bytes, config.output.share_store_bytes) == (1024**2, 64 * 1024**2)
    # The store's own defaults (used when a caller passes none) are the config's.
    assert (OutputConfig().share_max_bytes, OutputConfig().share_store_bytes) == (shares.MAX_BYTES, shares.STORE_BYTES)


def test_limits_and_sizes_are_read() -> None:
    config = parse_config(
        {
            "limits": {"command_time": "30s", "evaluation_processes": 4},
            "output": {"share_max_size": "256KB", "share_store_size": "1GB"},
        }
    )
    assert config.limits == LimitsConfig(command_seconds=30, evaluation_processes=4)
    assert (config.output.share_max_bytes, config.output.share_store_bytes) == (256 * 1024, 1024**3)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"limits": {"command_time": "soon"}}, r"limits\.command_time"),
        ({"limits": {"evaluation_processes": 0}}, r"limits\.evaluation_processes"),
        ({"limits": {"wall": 1}}, "unknown key 'wall'"),
        ({"output": {"share_max_size": "lots"}}, r"output\.share_max_size"),
        ({"output": {"share_max_size": "2MB", "share_store_size": "1MB"}}, r"share_store_size must be at least"),
    ],
)
def test_a_wrong_value_names_its_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        parse_config(data)
