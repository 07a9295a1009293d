"""The Docker hosts dockbell knows, by name, each behind its own gateway."""

from __future__ import annotations

import difflib

from bot.config import Config, HostConfig
from bot.engine.gateway import DockerGateway
from bot.errors import UnknownHost


class DockerHosts:
    def __init__(self, config: Config, docker_host_env: str | None = None, *, served: str | None = None) -> None:
        self.config = config
        self._env = docker_host_env
        # The host whose engine is local to this process: the default host for `serve`, the
        # worker's own host for `worker` (DOCKER_HOST or the local socket when it has no URL).
        self.served = served or config.host
        self._gateways: dict[str, DockerGateway] = {}

    @property
    def default(self) -> str:
        return self.config.host

    def names(self) -> list[str]:
        return [h.name for h in self.config.hosts]

    def check(self, name: str, *, operator: bool = False) -> HostConfig:
        """The host's config; UnknownHost if the config has none.

        The message names no host, not even a close one: which hosts exist is not everyone's
        business (`/docker hosts` lists those the caller has a role on; serve says the same).
        ``operator`` is for the command line (`dockbell worker --host`), whose user wrote the config.
        """
        host = self.config.host_named(name)
        if host is None:
            if operator:
                close = difflib.get_close_matches(name, self.names(), n=1)
                hint = f" Did you mean `{close[0]}`?" if close else ""
                raise UnknownHost(f"unknown Docker host {name!r} (known: {', '.join(self.names())}).{hint}")
            raise UnknownHost(f"unknown Docker host {name!r}. `/docker hosts` lists the hosts you can use.")
        return host

    def url(self, name: str) -> str | None:
        host = self.check(name)
        # DOCKER_HOST, docker's own convention, applies to the served host when the config gives no URL.
        return host.url or (self._env if name == self.served else None)

    def direct(self, name: str) -> bool:
        """Whether this process talks to the host's engine; only the host's own worker does."""
        return name == self.served

    def gateway(self, name: str | None = None) -> DockerGateway:
        name = name or self.served
        if not self.direct(name):
            raise UnknownHost(f"host `{name}` is reached only through its worker")
        if name not in self._gateways:
            host = self.check(name)
            self._gateways[name] = DockerGateway(self.url(name), tls_verify=host.tls_verify, cert_path=host.cert_path)
        return self._gateways[name]

    async def close(self) -> None:
        for gateway in self._gateways.values():
            await gateway.close()
        self._gateways.clear()
