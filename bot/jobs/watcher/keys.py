"""The watcher's Redis names, in one place.

dockbell:watch:<host>:cursor            JSON {"ns", "key"}: the last event fully handled
dockbell:watch:<host>:seen              zset event key -> time: crashes already reported (replay dedup)
dockbell:watch:<host>:incidents         hash container name -> incident JSON (open and recent ones)
dockbell:watch:<host>:baseline          hash container name -> its last healthy state (forensics)
dockbell:watch:<host>:intent:<ref>      JSON {"verb", "user", "job"}: a dockbell job is acting on it
dockbell:watch:<host>:snooze:<name>     JSON snooze record (expires by itself, a little after it ends)
dockbell:watch:<host>:down              JSON: the host's "unreachable" alert (serve's reachability check)
"""

from __future__ import annotations

PREFIX = "dockbell:watch:"


def cursor(host: str) -> str:
    return f"{PREFIX}{host}:cursor"


def seen(host: str) -> str:
    return f"{PREFIX}{host}:seen"


def incidents(host: str) -> str:
    return f"{PREFIX}{host}:incidents"


def baseline(host: str) -> str:
    return f"{PREFIX}{host}:baseline"


def intent(host: str, ref: str) -> str:
    return f"{PREFIX}{host}:intent:{ref}"


def snooze(host: str, name: str) -> str:
    return f"{PREFIX}{host}:snooze:{name}"


def snooze_pattern(host: str) -> str:
    return f"{PREFIX}{host}:snooze:*"


def down(host: str) -> str:
    return f"{PREFIX}{host}:down"
