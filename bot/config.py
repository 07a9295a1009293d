"""The YAML config file (DOCKBELL_CONFIG): loaded with safe_load, validated once, errors name the key."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.notifications_config import NotificationsConfig, parse_notifications
from bot.policy import Policy, load_policy, yaml_with_lines

_DURATION = re.compile(r"^(\d+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^(\d+)\s*(B|KB|MB|GB)$", re.IGNORECASE)
_BYTES = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def parse_duration(value: object, key: str) -> int:
    """`30m`, `1h`, `90s` or a number of seconds."""
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and (m := _DURATION.match(value.strip())):
        return int(m[1]) * _SECONDS[m[2]]
    raise ConfigError(f"{key}: expected a duration such as 30m or 90s, got {value!r}")


def parse_size(value: object, key: str) -> int:
    """`256KB`, `64MB` (powers of 1024) or a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and (m := _SIZE.match(value.strip())) and int(m[1]) > 0:
        return int(m[1]) * _BYTES[m[2].lower()]
    raise ConfigError(f"{key}: expected a size such as 256KB or 64MB, got {value!r}")


@dataclass(frozen=True)
class OutputConfig:
    # Longer answers go up as a file.  Up to this size an answer is shown as consecutive
    # code blocks (Block Kit caps one section at 3000 characters).
    max_inline_chars: int = 12000
    preview_lines: int = 15
    share_ttl_seconds: int = 1800  # response_url lives 30 minutes
    # What Redis keeps for Share clicks: an answer larger than this is shown but not kept
    # (it says it cannot be shared), and all kept answers together stay under the store's
    # budget, the oldest evicted first.
    share_max_bytes: int = 1024 * 1024
    share_store_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class LimitsConfig:
    # No noisy neighbour (docs/commands.md, "Limits"): a command is stopped after this long,
    # whatever it is doing, and its expensive evaluation runs in this many processes.
    command_seconds: int = 10
    evaluation_processes: int = 2


@dataclass(frozen=True)
class AuditConfig:
    # The Redis stream is trimmed by length (approximately, which is cheap) and by age.
    max_entries: int = 100_000
    max_age_seconds: int = 90 * 86400


# Slack refuses files over 1 GB; the exports of a whole container are often larger.
SLACK_FILE_LIMIT = 1024**3


@dataclass(frozen=True)
class TransferConfig:
    """Files in and out of the engine: export, save, cp (out), import, load, build (in).

    A tarball up to ``max_upload_bytes`` goes up to Slack; a larger one is written to
    ``export_dir`` on the worker's host, and its path and size are posted.  Nothing is
    written past ``max_export_bytes`` (a full disk would hurt more than a failed export).
    """

    max_upload_bytes: int = 50 * 1024**2
    export_dir: str = "/var/lib/dockbell/exports"
    max_export_bytes: int = 20 * 1024**3
    # `load -i URL`: the worker fetches the tarball, at most this much, then hands it to the engine.
    max_download_bytes: int = 4 * 1024**3


@dataclass(frozen=True)
class RunConfig:
    """``run`` without ``-d``: how long the job watches the container before leaving it running."""

    attach_seconds: int = 60
    output_keep_bytes: int = 1024 * 1024  # the end of the output kept (and uploaded when long)
    # Longer output also goes up as a file: the status message shows only its last lines.
    inline_chars: int = 2800
    inline_lines: int = 30


@dataclass(frozen=True)
class StreamsConfig:
    """Live output in threads (``logs -f``, ``attach``, ``stats``, ``events``): docs/streams.md."""

    default_seconds: int = 600  # a stream with no --duration ends after this long
    max_seconds: int = 3600  # the longest --duration anyone may ask for
    per_user: int = 2  # live streams at once, per person (all hosts)
    per_channel: int = 4  # per channel (all hosts)
    per_host: int = 8  # per Docker host
    batch_seconds: float = 1.5  # lines are posted in batches this far apart
    buffer_bytes: int = 256 * 1024  # pending lines held per stream; past that they are counted as skipped


DEFAULT_HOST = "local"  # the host's name when the config names none
_HOST_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_ENGINE_URL = re.compile(r"^(unix|tcp|ssh|npipe)://\S+$")


@dataclass(frozen=True)
class HostConfig:
    name: str
    url: str | None  # None: DOCKER_HOST, else the local socket
    tls_verify: bool = False
    cert_path: str | None = None


@dataclass(frozen=True)
class Config:
    output: OutputConfig = field(default_factory=OutputConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    run: RunConfig = field(default_factory=RunConfig)
    streams: StreamsConfig = field(default_factory=StreamsConfig)
    # Deny by default: with no permissions section nobody may run anything.
    policy: Policy = field(default_factory=Policy.empty)
    host: str = DEFAULT_HOST  # the default host
    hosts: tuple[HostConfig, ...] = (HostConfig(DEFAULT_HOST, None),)
    channel_hosts: dict[str, str] = field(default_factory=dict, hash=False)
    # Crash notifications (bot/notifications_config.py); None: no watcher runs.
    notifications: NotificationsConfig | None = None
    source: str = "<defaults>"

    def host_named(self, name: str) -> HostConfig | None:
        return next((h for h in self.hosts if h.name == name), None)

    def host_for_channel(self, channel_id: str) -> str:
        return self.channel_hosts.get(channel_id, self.host)


def _check_keys(section: dict[str, Any], allowed: set[str], where: str) -> None:
    for key in section:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")


def _positive_int(value: object, key: str, upper: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0 or (upper and value > upper):
        limit = f" up to {upper}" if upper else ""
        raise ConfigError(f"{key}: expected a positive whole number{limit}, got {value!r}")
    return value


def parse_config(data: object, source: str = "<string>", lines: dict[Any, int] | None = None) -> Config:
    if data is None:
        return Config(source=source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    sections = {
        "output",
        "audit",
        "limits",
        "transfer",
        "run",
        "streams",
        "permissions",
        "hosts",
        "default_host",
        "channels",
        "notifications",
    }
    _check_keys(data, sections, source)
    out = data.get("output") or {}
    if not isinstance(out, dict):
        raise ConfigError(f"{source}: output must be a mapping")
    _check_keys(
        out,
        {"max_inline_chars", "preview_lines", "share_ttl", "share_max_size", "share_store_size"},
        f"{source}: output",
    )
    defaults = OutputConfig()
    output = OutputConfig(
        max_inline_chars=_positive_int(
            out.get("max_inline_chars", defaults.max_inline_chars), "output.max_inline_chars", 30000
        ),
        preview_lines=_positive_int(out.get("preview_lines", defaults.preview_lines), "output.preview_lines", 40),
        share_ttl_seconds=parse_duration(out.get("share_ttl", defaults.share_ttl_seconds), "output.share_ttl"),
        share_max_bytes=parse_size(out.get("share_max_size", defaults.share_max_bytes), "output.share_max_size"),
        share_store_bytes=parse_size(
            out.get("share_store_size", defaults.share_store_bytes), "output.share_store_size"
        ),
    )
    if output.share_store_bytes < output.share_max_bytes:
        raise ConfigError(f"{source}: output.share_store_size must be at least output.share_max_size")
    audit = _audit(data.get("audit") or {}, source)
    limits = _limits(data.get("limits") or {}, source)
    transfer = _transfer(data.get("transfer") or {}, source)
    run = _run(data.get("run") or {}, source)
    streams = _streams(data.get("streams") or {}, source)
    policy = (
        load_policy(data["permissions"], source, lines=lines, prefix=("permissions",))
        if data.get("permissions") is not None
        else Policy.empty(source)
    )
    hosts = _hosts(data.get("hosts"), source)
    default = data.get("default_host", hosts[0].name)
    if not any(h.name == default for h in hosts):
        raise ConfigError(f"{source}: default_host: {default!r} is not one of the hosts ({_names(hosts)})")
    channel_hosts = _channel_hosts(data.get("channels") or {}, hosts, source)
    notifications = parse_notifications(data.get("notifications"), source, lines)
    return Config(
        output=output,
        audit=audit,
        limits=limits,
        transfer=transfer,
        run=run,
        streams=streams,
        policy=policy,
        host=default,
        hosts=hosts,
        channel_hosts=channel_hosts,
        notifications=notifications,
        source=source,
    )


def _names(hosts: tuple[HostConfig, ...]) -> str:
    return ", ".join(h.name for h in hosts)


def _hosts(section: object, source: str) -> tuple[HostConfig, ...]:
    if section is None:
        return (HostConfig(DEFAULT_HOST, None),)
    if not isinstance(section, dict) or not section:
        raise ConfigError(f"{source}: hosts must be a mapping of host name to {{url: ...}}")
    out = []
    for name, spec in section.items():
        where = f"{source}: hosts.{name}"
        if not isinstance(name, str) or not _HOST_NAME.match(name):
            raise ConfigError(f"{where}: a host name is lower-case letters, digits, '.', '_' or '-'")
        spec = spec or {}
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a mapping such as {{url: unix:///var/run/docker.sock}}")
        _check_keys(spec, {"url", "tls_verify", "cert_path"}, where)
        url = spec.get("url")
        if url is not None and (not isinstance(url, str) or not _ENGINE_URL.match(url)):
            raise ConfigError(f"{where}.url: expected unix://, tcp:// or ssh://..., got {url!r}")
        out.append(HostConfig(name, url, bool(spec.get("tls_verify", False)), spec.get("cert_path")))
    return tuple(out)


def _channel_hosts(section: object, hosts: tuple[HostConfig, ...], source: str) -> dict[str, str]:
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: channels must map channel IDs to {{host: NAME}}")
    out = {}
    for channel, spec in section.items():
        where = f"{source}: channels.{channel}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected {{host: NAME}}")
        _check_keys(spec, {"host"}, where)
        host = spec.get("host")
        if not any(h.name == host for h in hosts):
            raise ConfigError(f"{where}.host: {host!r} is not one of the hosts ({_names(hosts)})")
        out[str(channel)] = str(host)
    return out


def _audit(section: object, source: str) -> AuditConfig:
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: audit must be a mapping")
    _check_keys(section, {"max_entries", "max_age"}, f"{source}: audit")
    defaults = AuditConfig()
    return AuditConfig(
        max_entries=_positive_int(section.get("max_entries", defaults.max_entries), "audit.max_entries"),
        max_age_seconds=parse_duration(section.get("max_age", defaults.max_age_seconds), "audit.max_age"),
    )


def _limits(section: object, source: str) -> LimitsConfig:
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: limits must be a mapping")
    _check_keys(section, {"command_time", "evaluation_processes"}, f"{source}: limits")
    defaults = LimitsConfig()
    return LimitsConfig(
        command_seconds=parse_duration(section.get("command_time", defaults.command_seconds), "limits.command_time"),
        evaluation_processes=_positive_int(
            section.get("evaluation_processes", defaults.evaluation_processes), "limits.evaluation_processes", 16
        ),
    )


def _transfer(section: object, source: str) -> TransferConfig:
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: transfer must be a mapping")
    _check_keys(section, {"max_upload", "export_dir", "max_export", "max_download"}, f"{source}: transfer")
    d = TransferConfig()
    max_upload = parse_size(section.get("max_upload", d.max_upload_bytes), "transfer.max_upload")
    if max_upload > SLACK_FILE_LIMIT:
        raise ConfigError(f"{source}: transfer.max_upload: Slack takes files up to 1GB, got {max_upload} bytes")
    export_dir = section.get("export_dir", d.export_dir)
    if not isinstance(export_dir, str) or not export_dir.startswith("/"):
        raise ConfigError(f"{source}: transfer.export_dir: expected an absolute path, got {export_dir!r}")
    max_export = parse_size(section.get("max_export", d.max_export_bytes), "transfer.max_export")
    if max_export < max_upload:
        raise ConfigError(f"{source}: transfer.max_export must be at least transfer.max_upload")
    return TransferConfig(
        max_upload_bytes=max_upload,
        export_dir=export_dir.rstrip("/") or "/",
        max_export_bytes=max_export,
        max_download_bytes=parse_size(section.get("max_download", d.max_download_bytes), "transfer.max_download"),
    )


def _run(section: object, source: str) -> RunConfig:
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: run must be a mapping")
    _check_keys(section, {"attach_timeout"}, f"{source}: run")
    seconds = parse_duration(section.get("attach_timeout", RunConfig.attach_seconds), "run.attach_timeout")
    if seconds > 3600:
        raise ConfigError(f"{source}: run.attach_timeout: at most 1h (a job holds a worker slot while it watches)")
    return RunConfig(attach_seconds=seconds)


def _streams(section: object, source: str) -> StreamsConfig:
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: streams must be a mapping")
    keys = {"default_duration", "max_duration", "per_user", "per_channel", "per_host", "batch_every", "buffer_size"}
    _check_keys(section, keys, f"{source}: streams")
    d = StreamsConfig()
    default = parse_duration(section.get("default_duration", d.default_seconds), "streams.default_duration")
    longest = parse_duration(section.get("max_duration", d.max_seconds), "streams.max_duration")
    if longest > 86400:
        raise ConfigError(f"{source}: streams.max_duration: at most 24h")
    if default > longest:
        raise ConfigError(f"{source}: streams.default_duration must not exceed streams.max_duration")
    batch = section.get("batch_every", d.batch_seconds)
    if isinstance(batch, str) and batch.endswith("s"):
        batch = batch[:-1]
    try:
        batch = float(batch)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: streams.batch_every: expected seconds such as 1.5s, got {batch!r}") from None
    if not 1.0 <= batch <= 30.0:
        # Slack allows about one edit a second per message: faster batches would only meet 429s.
        raise ConfigError(f"{source}: streams.batch_every: between 1s and 30s, got {batch}")
    return StreamsConfig(
        default_seconds=default,
        max_seconds=longest,
        per_user=_positive_int(section.get("per_user", d.per_user), "streams.per_user", 100),
        per_channel=_positive_int(section.get("per_channel", d.per_channel), "streams.per_channel", 100),
        per_host=_positive_int(section.get("per_host", d.per_host), "streams.per_host", 1000),
        batch_seconds=batch,
        buffer_bytes=parse_size(section.get("buffer_size", d.buffer_bytes), "streams.buffer_size"),
    )


def load_config(path: str) -> Config:
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file {path} does not exist (set DOCKBELL_CONFIG)")
    # Composed with line numbers, so that a policy mistake names its line.
    data, lines = yaml_with_lines(p.read_text(encoding="utf-8"), path)
    return parse_config(data, path, lines)
