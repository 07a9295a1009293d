"""bot/jobs/visible.py: docker's lookup order, applied as if hidden objects did not exist."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.errors import DockerError, DockerUnavailable, NotFound
from bot.jobs.visible import Lookup
from bot.policy import Target

pytestmark = pytest.mark.unit

A = "a1" + "0" * 62  # visible
B = "a2" + "1" * 62  # hidden
C = "a2" + "2" * 62  # visible
D = "bb" + "3" * 62  # visible, named like a prefix of B's ID


def _item(cid: str, name: str, team: str) -> dict[str, Any]:
    return {"Id": cid, "Names": ["/" + name], "Labels": {"team": team}, "Image": "busybox"}


ITEMS = [_item(A, "web", "pay"), _item(B, "secret", "search"), _item(C, "api", "pay"), _item(D, "a2", "pay")]


class FakeEngine:
    """docker's own lookup over ITEMS (ID, name, unique prefix), and its list."""

    def __init__(self, down: bool = False) -> None:
        self.down = down

    async def inspect_container(self, ref: str) -> dict[str, Any]:
        if self.down:
            raise DockerUnavailable("Cannot connect to the Docker daemon")
        key = ref.lstrip("/")
        for item in ITEMS:
            if item["Id"] == key or "/" + key in item["Names"]:
                return {"Id": item["Id"], "Name": item["Names"][0], "Config": {"Labels": item["Labels"]}}
        found = [i for i in ITEMS if i["Id"].startswith(key)]
        if len(found) > 1:
            raise DockerError(f"Error response from daemon: Multiple IDs found with provided prefix: {key}")
        if not found:
            raise NotFound(f"Error response from daemon: No such container: {key}")
        return await self.inspect_container(found[0]["Id"])

    async def containers(self, all: bool = False) -> list[dict[str, Any]]:
        return list(ITEMS)


def _lookup(down: bool = False) -> Lookup:
    return Lookup(FakeEngine(down), lambda t: t.labels.get("team") == "pay")  # type: ignore[arg-type]


def _name(ref: str) -> str | None:
    found: Target | None = asyncio.run(_lookup().container(ref))
    return found.name if found else None


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        ("web", "web"),
        ("/web", "web"),
        (A, "web"),
        ("a1", "web"),
        ("secret", None),  # hidden: as if missing
        (B, None),
        (B[:8], None),
        ("a2", "a2"),  # a name beats a prefix, as in docker
        ("a22", "api"),  # one visible match of a prefix that a hidden ID shares too: the visible one
        ("nosuch", None),
        ("", None),
    ],
)
def test_container_lookup(ref: str, name: str | None) -> None:
    assert _name(ref) == name


def test_an_ambiguous_prefix_only_among_visible_ones() -> None:
    # "a" matches web and api, both visible: docker's own words.  "a2" is a name; "a22" is
    # unique once the hidden one is gone (above).
    with pytest.raises(DockerError, match=r"Multiple IDs found with provided prefix: a$"):
        asyncio.run(_lookup().container("a"))


def test_the_hidden_target_is_kept_for_the_audit_only() -> None:
    lookup = _lookup()
    assert asyncio.run(lookup.container("secret")) is None
    assert [t.name for t in lookup.hidden] == ["secret"]


def test_an_unreachable_engine_is_not_a_missing_container() -> None:
    with pytest.raises(DockerUnavailable):
        asyncio.run(_lookup(down=True).container("web"))
