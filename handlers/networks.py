"""``docker network ls/inspect/create/rm/connect/disconnect``: reads answered directly, changes as jobs."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from bot.cli_output.formatters import networks as nfmt
from bot.cli_output.formatters.listing import render_list
from bot.cli_output.formatters.templated import render_each
from bot.cli_output.offload import evaluate
from bot.core.cliparse import Flag, Kind
from bot.core.registry import command
from bot.core.types import Invocation, Output
from bot.engine.networks import IpamPool, Networks, NetworkSpec
from bot.errors import NotFound, UserError
from bot.jobs.context import HandlerContext
from bot.jobs.gate import label_map
from bot.jobs.visible import network_target, no_such
from handlers.containers import FORMAT_HELP, go_json, parse_filters
from handlers.resource_jobs import JobOrder, queue_jobs
from handlers.volumes import INSPECT_FORMAT_HELP, driver_options

NETWORK_JOB_TIMEOUT = 60.0
_SWARM_ONLY = "swarm networks are not offered: dockbell drives single engines"
_API_TOO_OLD = "not offered: it needs a newer Docker Engine API than dockbell speaks"


@command(
    "network ls",
    aliases=("network list",),
    usage="docker network ls [OPTIONS]",
    summary="List networks",
    verb="network-ls",
    max_args=0,
    flags=[
        Flag("filter", 'Provide filter values (e.g. "driver=bridge")', Kind.LIST, short="f", value_name="filter"),
        Flag("format", FORMAT_HELP, Kind.STRING, value_name="string"),
        Flag("no-trunc", "Do not truncate the output"),
        Flag("quiet", "Only display network IDs", short="q"),
    ],
)
async def network_ls(inv: Invocation, ctx: HandlerContext) -> Output:
    fmt = nfmt.networks_format(inv.opt("format"), quiet=inv.opt("quiet"))
    listed = await Networks(ctx.docker).list(parse_filters(inv.opt("filter")))
    rows = [n for n in nfmt.sorted_networks(listed) if ctx.access.can_see("network-ls", network_target(dict(n)))]
    contexts = [nfmt.NetworkContext(n, trunc=not inv.opt("no_trunc")) for n in rows]
    text = await evaluate(
        render_list, fmt, default_table=nfmt.NETWORKS_DEFAULT_TABLE, headers=nfmt.NETWORK_HEADERS, contexts=contexts
    )
    return Output(text, filename="networks.txt")


@command(
    "network inspect",
    usage="docker network inspect [OPTIONS] NETWORK [NETWORK...]",
    summary="Display detailed information on one or more networks",
    verb="network-inspect",
    min_args=1,
    targets="network:all",
    flags=[
        Flag("format", INSPECT_FORMAT_HELP, Kind.STRING, short="f", value_name="string"),
        Flag("verbose", "Verbose output for diagnostics", short="v"),
    ],
)
async def network_inspect(inv: Invocation, ctx: HandlerContext) -> Output:
    networks = Networks(ctx.docker)
    docs: list[Any] = []
    errors: list[str] = []
    for ref, target in zip(inv.args, ctx.targets, strict=True):
        try:
            if not target.id:
                raise NotFound(ref)
            # The daemon's own document (its keys, its order), as the CLI re-indents it.
            docs.append(json.loads(await networks.inspect_raw(target.id, verbose=bool(inv.opt("verbose")))))
        except NotFound:
            errors.append(no_such("network", ref))
    if not docs and errors:
        raise NotFound("\n".join(errors))
    fmt: str | None = inv.opt("format")
    if fmt == "json":
        fmt = None
    text = await evaluate(render_each, fmt, docs) if fmt else go_json(docs)
    return Output(text, filename="network-inspect.json", errors=errors)


def _split(values: list[str]) -> list[str]:
    """pflag's StringSlice: each value is comma-separated, and the flag may repeat."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise UserError(f"invalid subnet: invalid CIDR address: {text}") from None


def _contains(subnet: str, data: str) -> bool:
    """docker's subnetMatches: does ``subnet`` hold the address (or the network's address) ``data``?"""
    net = _cidr(subnet)
    try:
        ip = ipaddress.ip_interface(data).ip if "/" in data else ipaddress.ip_address(data)
    except ValueError:
        if "/" in data:
            raise UserError(f"invalid CIDR address: {data}") from None
        return False  # Go's ParseIP gives nil, which no subnet contains
    return ip.version == net.version and ip in net


def ipam_pools(subnets: list[str], ip_ranges: list[str], gateways: list[str], aux: dict[str, str]) -> list[IpamPool]:
    """``createIPAMConfig``: every check and message of the CLI, before anything is sent."""
    if len(subnets) < len(ip_ranges) or len(subnets) < len(gateways):
        raise UserError("every ip-range or gateway must have a corresponding subnet")
    pools: dict[str, dict[str, Any]] = {}
    for s in subnets:
        for k in pools:
            if _contains(s, k) or _contains(k, s):
                raise UserError("multiple overlapping subnet configuration is not supported")
        _cidr(s)
        pools[s] = {"subnet": s, "ip_range": "", "gateway": "", "aux": {}}
    for field, values, what in (("ip_range", ip_ranges, "range"), ("gateway", gateways, "gateway")):
        for value in values:
            if field == "ip_range":
                _cidr_or_error(value)
            matched = [s for s in subnets if _contains(s, value)]
            for s in matched:
                if pools[s][field]:
                    many = "multiple ranges" if field == "ip_range" else "multiple gateways"
                    where = "on the same subnet" if field == "ip_range" else "for the same subnet"
                    raise UserError(f"cannot configure {many} ({value}, {pools[s][field]}) {where} ({s})")
                pools[s][field] = value
            if not matched:
                raise UserError(f"no matching subnet for {what} {value}")
    for key, address in aux.items():
        matched = [s for s in subnets if _contains(s, address)]
        if not matched:
            raise UserError(f"no matching subnet for aux-address {address}")
        for s in matched:
            pools[s]["aux"][key] = address
    return [IpamPool(p["subnet"], p["ip_range"], p["gateway"], p["aux"]) for p in pools.values()]


def _cidr_or_error(text: str) -> None:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise UserError(f"invalid CIDR address: {text}") from None


@command(
    "network create",
    usage="docker network create [OPTIONS] NETWORK",
    summary="Create a network",
    verb="network-create",
    group="admin",
    min_args=1,
    max_args=1,
    targets="network:new",
    flags=[
        Flag("attachable", "Enable manual container attachment"),
        Flag("aux-address", "Auxiliary IPv4 or IPv6 addresses used by Network driver", Kind.LIST, value_name="map"),
        Flag("config-from", "The network from which to copy the configuration", Kind.STRING, not_available=_SWARM_ONLY),
        Flag("config-only", "Create a configuration only network", not_available=_SWARM_ONLY),
        Flag("driver", "Driver to manage the Network", Kind.STRING, short="d", default="bridge", value_name="string"),
        Flag("gateway", "IPv4 or IPv6 Gateway for the master subnet", Kind.LIST, value_name="strings"),
        Flag("ingress", "Create swarm routing-mesh network", not_available=_SWARM_ONLY),
        Flag("internal", "Restrict external access to the network"),
        Flag("ip-range", "Allocate container ip from a sub-range", Kind.LIST, value_name="strings"),
        Flag("ipam-driver", "IP Address Management Driver", Kind.STRING, default="default", value_name="string"),
        Flag("ipam-opt", "Set IPAM driver specific options", Kind.LIST, value_name="map"),
        Flag("ipv4", "Enable or disable IPv4 address assignment", not_available=_API_TOO_OLD),
        Flag("ipv6", "Enable or disable IPv6 address assignment"),
        Flag("label", "Set metadata on a network", Kind.LIST, value_name="list"),
        Flag("opt", "Set driver specific options", Kind.LIST, short="o", value_name="map"),
        Flag("scope", "Control the network's scope", Kind.STRING, not_available=_SWARM_ONLY),
        Flag("subnet", "Subnet in CIDR format that represents a network segment", Kind.LIST, value_name="strings"),
    ],
)
async def network_create(inv: Invocation, ctx: HandlerContext) -> Output:
    name = inv.args[0]
    pools = ipam_pools(
        _split(inv.opt("subnet")),
        _split(inv.opt("ip_range")),
        _split(inv.opt("gateway")),
        driver_options(inv.opt("aux_address")),
    )
    spec = NetworkSpec(
        name=name,
        driver=inv.opt("driver") or "bridge",
        options=driver_options(inv.opt("opt")),
        labels=label_map(inv.opt("label")),
        internal=bool(inv.opt("internal")),
        attachable=bool(inv.opt("attachable")),
        enable_ipv6=bool(inv.opt("ipv6")) if "ipv6" in inv.given else None,
        ipam_driver=inv.opt("ipam_driver") or "default",
        ipam_options=driver_options(inv.opt("ipam_opt")),
        pools=tuple(pools),
    )
    order = JobOrder(
        verb="network-create",
        target=name,
        target_name=name,
        kind="network",
        command=inv.text,
        args={"spec": spec.to_json()},
        timeout=NETWORK_JOB_TIMEOUT,
        idempotent=False,  # run twice, the second is refused as a duplicate: honest either way
        lock_key=f"network:{name}",
    )
    return await queue_jobs(inv, ctx, [order])


@command(
    "network rm",
    aliases=("network remove",),
    usage="docker network rm NETWORK [NETWORK...]",
    summary="Remove one or more networks",
    verb="network-rm",
    group="admin",
    min_args=1,
    targets="network:all",
    flags=[Flag("force", "Do not error if the network does not exist", short="f")],
)
async def network_rm(inv: Invocation, ctx: HandlerContext) -> Output:
    missing = [ref for ref, t in zip(inv.args, ctx.targets, strict=True) if not t.id]
    if missing and not inv.opt("force"):
        raise NotFound("\n".join(no_such("network", m) for m in missing))
    found = list(dict.fromkeys(t for t in ctx.targets if t.id))
    if not found:
        return Output("", silent=False)  # -f on networks that do not exist: docker prints nothing
    orders = [
        JobOrder(
            verb="network-rm",
            target=t.id,
            target_name=t.name,
            kind="network",
            command=f"network rm {t.name}",
            timeout=NETWORK_JOB_TIMEOUT,
            idempotent=True,
            lock_key=f"network:{t.id}",
        )
        for t in found
    ]
    return await queue_jobs(inv, ctx, orders)


def _network_and_container(inv: Invocation, ctx: HandlerContext) -> tuple[str, str, str, str]:
    """(network ID, network name, container ID, container name) that the gate resolved; missing in docker's words.

    docker looks the container up first, so a missing container is what it reports first.
    """
    network, container = ctx.targets
    if not container.id:
        raise NotFound(no_such("container", inv.args[1]))
    if not network.id:
        raise NotFound(no_such("network", inv.args[0]))
    return network.id, network.name, container.id, container.name


@command(
    "network connect",
    usage="docker network connect [OPTIONS] NETWORK CONTAINER",
    summary="Connect a container to a network",
    verb="network-connect",
    group="admin",
    min_args=2,
    max_args=2,
    targets="network,container",
    flags=[
        Flag("alias", "Add network-scoped alias for the container", Kind.LIST, value_name="strings"),
        Flag(
            "driver-opt", "driver options for the network", Kind.LIST, value_name="strings", not_available="not offered"
        ),
        Flag("gw-priority", "Highest gw-priority provides the default gateway", Kind.INT, not_available=_API_TOO_OLD),
        Flag("ip", 'IPv4 address (e.g., "172.30.100.104")', Kind.STRING, value_name="string"),
        Flag("ip6", 'IPv6 address (e.g., "2001:db8::33")', Kind.STRING, value_name="string"),
        Flag("link", "Add link to another container", Kind.LIST, value_name="list", not_available="links are legacy"),
        Flag("link-local-ip", "Add a link-local address for the container", Kind.LIST, not_available="not offered"),
    ],
)
async def network_connect(inv: Invocation, ctx: HandlerContext) -> Output:
    net_id, net_name, cid, cname = _network_and_container(inv, ctx)
    order = JobOrder(
        verb="network-connect",
        target=net_id,
        target_name=net_name,
        kind="network",
        command=inv.text,
        args={
            "container": cid,
            "container_name": cname,
            "ip": inv.opt("ip") or "",
            "ip6": inv.opt("ip6") or "",
            "aliases": _split(inv.opt("alias")),
        },
        timeout=NETWORK_JOB_TIMEOUT,
        idempotent=False,
        lock_key=f"container:{cid}",  # in line with the container's other jobs (a restart, a stop)
    )
    return await queue_jobs(inv, ctx, [order])


@command(
    "network disconnect",
    usage="docker network disconnect [OPTIONS] NETWORK CONTAINER",
    summary="Disconnect a container from a network",
    verb="network-disconnect",
    group="admin",
    min_args=2,
    max_args=2,
    targets="network,container",
    flags=[Flag("force", "Force the container to disconnect from a network", short="f")],
)
async def network_disconnect(inv: Invocation, ctx: HandlerContext) -> Output:
    net_id, net_name, cid, cname = _network_and_container(inv, ctx)
    order = JobOrder(
        verb="network-disconnect",
        target=net_id,
        target_name=net_name,
        kind="network",
        command=inv.text,
        args={"container": cid, "container_name": cname, "force": bool(inv.opt("force"))},
        timeout=NETWORK_JOB_TIMEOUT,
        idempotent=True,
        lock_key=f"container:{cid}",
    )
    return await queue_jobs(inv, ctx, [order])
