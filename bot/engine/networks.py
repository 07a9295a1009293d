"""The Engine API's networks, one thin call each, through the gateway's ``call()``.

``inspect_raw`` keeps the daemon's own JSON text: ``docker network inspect`` prints the
daemon's document re-indented (its key order, its fields), not the CLI's struct.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import docker

from bot.engine.gateway import DockerGateway


@dataclass(frozen=True)
class IpamPool:
    subnet: str
    ip_range: str = ""
    gateway: str = ""
    aux_addresses: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NetworkSpec:
    """What ``docker network create`` sends (the CLI's CreateOptions), already validated."""

    name: str
    driver: str = "bridge"
    options: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool | None = None
    ipam_driver: str = "default"
    ipam_options: Mapping[str, str] = field(default_factory=dict)
    pools: Sequence[IpamPool] = ()

    def to_json(self) -> dict[str, Any]:
        """As a job's JSON arguments (read back on the worker by :meth:`from_json`)."""
        return {
            "name": self.name,
            "driver": self.driver,
            "options": dict(self.options),
            "labels": dict(self.labels),
            "internal": self.internal,
            "attachable": self.attachable,
            "enable_ipv6": self.enable_ipv6,
            "ipam_driver": self.ipam_driver,
            "ipam_options": dict(self.ipam_options),
            "pools": [
                {"subnet": p.subnet, "ip_range": p.ip_range, "gateway": p.gateway, "aux": dict(p.aux_addresses)}
                for p in self.pools
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NetworkSpec:
        ipv6 = data.get("enable_ipv6")
        return cls(
            name=str(data["name"]),
            driver=str(data.get("driver") or "bridge"),
            options=dict(data.get("options") or {}),
            labels=dict(data.get("labels") or {}),
            internal=bool(data.get("internal")),
            attachable=bool(data.get("attachable")),
            enable_ipv6=None if ipv6 is None else bool(ipv6),
            ipam_driver=str(data.get("ipam_driver") or "default"),
            ipam_options=dict(data.get("ipam_options") or {}),
            pools=tuple(
                IpamPool(
                    str(p["subnet"]), str(p.get("ip_range", "")), str(p.get("gateway", "")), dict(p.get("aux") or {})
                )
                for p in data.get("pools") or []
            ),
        )


def _body(spec: NetworkSpec) -> dict[str, Any]:
    ipam: dict[str, Any] = {
        "Driver": spec.ipam_driver,
        "Config": [
            {
                "Subnet": p.subnet,
                **({"IPRange": p.ip_range} if p.ip_range else {}),
                **({"Gateway": p.gateway} if p.gateway else {}),
                **({"AuxiliaryAddresses": dict(p.aux_addresses)} if p.aux_addresses else {}),
            }
            for p in spec.pools
        ],
        "Options": dict(spec.ipam_options) or None,
    }
    body: dict[str, Any] = {
        "Name": spec.name,
        # The CLI sends CheckDuplicate on API < 1.44, so a second network of the same name is refused.
        "CheckDuplicate": True,
        "Driver": spec.driver,
        "Options": dict(spec.options),
        "IPAM": ipam,
        "Internal": spec.internal,
        "Attachable": spec.attachable,
        "Labels": dict(spec.labels),
    }
    if spec.enable_ipv6 is not None:
        body["EnableIPv6"] = spec.enable_ipv6
    return body


class Networks:
    def __init__(self, gateway: DockerGateway) -> None:
        self._call = gateway.call

    async def list(self, filters: Mapping[str, list[str]] | None = None) -> list[dict[str, Any]]:
        """``GET /networks``: the daemon validates the filters (``Invalid filter 'x'``)."""
        return list(await self._call(lambda api: api.networks(filters=dict(filters) if filters else None)))

    async def inspect(self, ref: str) -> dict[str, Any]:
        return dict(await self._call(lambda api: api.inspect_network(ref)))

    async def inspect_raw(self, ref: str, *, verbose: bool = False) -> str:
        """The daemon's document as it sent it (key order and all), for ``network inspect``."""

        def fetch(api: docker.APIClient) -> str:
            params = {"verbose": "true"} if verbose else {}
            response = api._get(api._url("/networks/{0}", ref), params=params)
            api._raise_for_status(response)
            return str(response.text)

        return await self._call(fetch)

    async def create(self, spec: NetworkSpec) -> dict[str, Any]:
        """``POST /networks/create``, sent once."""

        def send(api: docker.APIClient) -> dict[str, Any]:
            response = api._post_json(api._url("/networks/create"), data=_body(spec))
            return dict(api._result(response, json=True))

        return await self._call(send, retry=False)

    async def remove(self, ref: str) -> None:
        await self._call(lambda api: api.remove_network(ref), retry=False)

    async def connect(
        self, network: str, container: str, *, ipv4: str = "", ipv6: str = "", aliases: Sequence[str] = ()
    ) -> None:
        await self._call(
            lambda api: api.connect_container_to_network(
                container, network, ipv4_address=ipv4 or None, ipv6_address=ipv6 or None, aliases=list(aliases) or None
            ),
            retry=False,
        )

    async def disconnect(self, network: str, container: str, *, force: bool) -> None:
        await self._call(
            lambda api: api.disconnect_container_from_network(container, network, force=force), retry=False
        )
