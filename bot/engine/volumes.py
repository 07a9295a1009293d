"""The Engine API's volumes, one thin call each, through the gateway's ``call()``.

The gateway translates every failure (docker's wording: ``Error response from daemon: get
x: no such volume``); nothing here catches docker-py errors.  Results are the API's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.engine.gateway import DockerGateway


class Volumes:
    def __init__(self, docker: DockerGateway) -> None:
        self._call = docker.call

    async def list(self, filters: Mapping[str, list[str]] | None = None) -> list[dict[str, Any]]:
        """``GET /volumes``: the daemon validates the filters (``Invalid filter 'x'``)."""
        found = await self._call(lambda api: api.volumes(filters=dict(filters) if filters else None))
        return list((found or {}).get("Volumes") or [])

    async def inspect(self, name: str) -> dict[str, Any]:
        return dict(await self._call(lambda api: api.inspect_volume(name)))

    async def create(
        self, name: str | None, *, driver: str, driver_opts: Mapping[str, str], labels: Mapping[str, str]
    ) -> dict[str, Any]:
        """``POST /volumes/create``; sent once (no retry): a second create could make a second anonymous volume."""
        return dict(
            await self._call(
                lambda api: api.create_volume(
                    name=name or None, driver=driver, driver_opts=dict(driver_opts) or None, labels=dict(labels) or None
                ),
                retry=False,
            )
        )

    async def remove(self, name: str, *, force: bool) -> None:
        await self._call(lambda api: api.remove_volume(name, force=force), retry=False)
