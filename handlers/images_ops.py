"""Image commands that change things: push, tag, rmi, image prune, container prune; and system df.

Each change is a job (its worker side is bot/jobs/image_jobs.py) with one status message.
Images are named the way the gate resolved them among what the caller may see: a hidden
image is answered exactly as a missing one.  The prunes act on the whole engine, so the
policy lets only a role that is not limited to some containers or images run them.
"""

from __future__ import annotations

from bot.cli_output.formatters import disk
from bot.cli_output.formatters.reference import Reference, parse_normalized_named
from bot.cli_output.offload import evaluate
from bot.cli_output.pull import DEFAULT_TAG, pull_reference
from bot.core.cliparse import Flag, Kind
from bot.core.registry import command
from bot.core.types import Invocation, Output
from bot.engine import images as engine_images
from bot.errors import NotAvailableYet, NotFound, ParseError
from bot.jobs.context import HandlerContext
from bot.jobs.gate import Denied
from bot.jobs.verbs import PULL_TIMEOUT
from bot.policy import Target
from handlers.containers import FORMAT_HELP, parse_filters
from handlers.lifecycle import _queue

QUICK_JOB_TIMEOUT = 120.0  # tag, rmi: one engine call each (a large rmi deletes many layers)
PRUNE_TIMEOUT = 30 * 60.0  # the engine walks every image or container; never unlimited
PUSH_TIMEOUT = PULL_TIMEOUT

FILTER_FLAG = Flag("filter", 'Provide filter values (e.g. "until=<timestamp>")', Kind.LIST, value_name="filter")
FORCE_PRUNE = Flag("force", "Do not prompt for confirmation", short="f")
_NO_PROMPT = "Chat cannot ask you to confirm: add `-f` to go ahead. Nothing was removed."


def missing_image(ref: str) -> str:
    """The engine's words for an image it does not have: ``busybox`` -> ``No such image: busybox:latest``."""
    if ref.startswith("sha256:"):
        return f"Error response from daemon: No such image: {ref}"
    return f"Error response from daemon: No such image: {pull_reference(ref).familiar_string()}"


def _visible(ctx: HandlerContext) -> list[Target]:
    """The images the gate resolved; one it found nothing visible for is answered as missing."""
    missing = [t.name for t in ctx.targets if not t.id]
    if missing:
        raise NotFound("\n".join(missing_image(m) for m in missing))
    return list(ctx.targets)


def _parse_target(text: str) -> Reference:
    try:
        return parse_normalized_named(text)
    except ValueError as err:
        raise ParseError(f'Error parsing reference: "{text}" is not a valid repository/tag: {err}') from None


@command(
    "push",
    aliases=("image push",),
    usage="docker push [OPTIONS] NAME[:TAG]",
    summary="Upload an image to a registry",
    min_args=1,
    max_args=1,
    targets="image:first",
    group="admin",
    flags=[
        Flag(
            "all-tags",
            "Push all tags of an image to the repository",
            short="a",
            not_available="pushing every tag is not offered; name one tag",
        ),
        Flag(
            "platform",
            "Push a platform-specific manifest as a single-platform image to the registry",
            Kind.STRING,
            value_name="string",
            not_available="--platform is not offered yet",
        ),
        Flag("quiet", "Suppress verbose output", short="q"),
    ],
)
async def push(inv: Invocation, ctx: HandlerContext) -> Output:
    typed = inv.args[0]
    ref = pull_reference(typed)  # docker's own validation and wording for a bad reference
    await ctx.jobs.require_live(ctx.access.host)
    target = ctx.targets[0]
    if not target.id:
        raise NotFound(_no_push(typed, ref))
    if ref.digest:
        raise ParseError("cannot push a digest reference")
    args = {
        "reference": typed,
        "repository": ref.familiar_name(),
        "tag": ref.tag or DEFAULT_TAG,
        "quiet": bool(inv.opt("quiet")),
    }
    return await _queue(inv, ctx, [target], verb="push", args=args, timeout=PUSH_TIMEOUT, idempotent=True)


def _no_push(typed: str, ref: Reference) -> str:
    """What ``docker push`` prints for a tag the engine does not have (the engine's stream, then its error)."""
    lines = [] if parse_normalized_named(typed).tag else [f"Using default tag: {DEFAULT_TAG}"]
    lines += [
        f"The push refers to repository [{ref.name}]",
        f"An image does not exist locally with the tag: {ref.familiar_name()}",
    ]
    return "\n".join(lines)


@command(
    "tag",
    aliases=("image tag",),
    usage="docker tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    summary="Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    min_args=2,
    max_args=2,
    targets="image:first",
    group="admin",
)
async def tag(inv: Invocation, ctx: HandlerContext) -> Output:
    source_text, target_text = inv.args
    new = _parse_target(target_text)
    if new.digest:
        raise ParseError("refusing to create a tag with a digest reference")
    await ctx.jobs.require_live(ctx.access.host)
    (source,) = _visible(ctx)
    # The new name is an image the caller now controls: it must be one their roles let them tag.
    shown = f"{new.familiar_name()}:{new.tag or DEFAULT_TAG}"
    decision = ctx.access.check("tag", Target(kind="image", name=shown, image=shown))
    if not decision.allowed:
        raise Denied(decision, inv.text)
    args: dict[str, object] = {
        "source": source_text,
        "target_ref": shown,
        "repository": new.familiar_name(),
        "tag": new.tag or DEFAULT_TAG,
    }
    return await _queue(inv, ctx, [source], verb="tag", args=args, timeout=QUICK_JOB_TIMEOUT, idempotent=True)


@command(
    "rmi",
    aliases=("image rm", "image remove"),
    usage="docker rmi [OPTIONS] IMAGE [IMAGE...]",
    summary="Remove one or more images",
    min_args=1,
    targets="image:all",
    group="admin",
    flags=[
        Flag("force", "Force removal of the image", short="f"),
        Flag("no-prune", "Do not delete untagged parents"),
        Flag(
            "platform",
            "Remove only the given platform variant",
            Kind.STRING,
            value_name="strings",
            not_available="--platform is not offered yet",
        ),
    ],
)
async def rmi(inv: Invocation, ctx: HandlerContext) -> Output:
    await ctx.jobs.require_live(ctx.access.host)
    images = _visible(ctx)
    # One job, as the CLI makes one pass: each image in turn, what was removed, then the errors.
    pairs = [[typed, t.id] for typed, t in zip(inv.args, images, strict=True)]
    args = {"images": pairs, "force": bool(inv.opt("force")), "no_prune": bool(inv.opt("no_prune"))}
    first = images[0] if len(images) == 1 else Target(kind="image", name=" ".join(inv.args), id=images[0].id)
    return await _queue(inv, ctx, [first], verb="rmi", args=args, timeout=QUICK_JOB_TIMEOUT, idempotent=False)


def _prune_filters(values: list[str], **extra: str) -> dict[str, list[str]]:
    filters = parse_filters(values)
    for key, value in extra.items():
        filters.setdefault(key, []).append(value)
    return filters


async def _prune(
    inv: Invocation, ctx: HandlerContext, verb: str, warning: str, filters: dict[str, list[str]]
) -> Output:
    if not inv.opt("force"):
        return Output(f"WARNING! {warning}\n{_NO_PROMPT}", monospace=False)
    await ctx.jobs.require_live(ctx.access.host)
    target = Target(kind="host", name=ctx.access.host)
    args: dict[str, object] = {"filters": filters}
    return await _queue(inv, ctx, [target], verb=verb, args=args, timeout=PRUNE_TIMEOUT, idempotent=True)


@command(
    "image prune",
    usage="docker image prune [OPTIONS]",
    summary="Remove unused images",
    verb="image-prune",
    max_args=0,
    group="admin",
    flags=[
        Flag("all", "Remove all unused images, not just dangling ones", short="a"),
        FILTER_FLAG,
        FORCE_PRUNE,
    ],
)
async def image_prune(inv: Invocation, ctx: HandlerContext) -> Output:
    every = bool(inv.opt("all"))
    warning = (
        "This will remove all images without at least one container associated to them."
        if every
        else "This will remove all dangling images."
    )
    filters = _prune_filters(inv.opt("filter"), dangling="false" if every else "true")
    return await _prune(inv, ctx, "image-prune", warning, filters)


@command(
    "container prune",
    usage="docker container prune [OPTIONS]",
    summary="Remove all stopped containers",
    verb="container-prune",
    max_args=0,
    group="admin",
    flags=[FILTER_FLAG, FORCE_PRUNE],
)
async def container_prune(inv: Invocation, ctx: HandlerContext) -> Output:
    filters = _prune_filters(inv.opt("filter"))
    return await _prune(inv, ctx, "container-prune", "This will remove all stopped containers.", filters)


@command(
    "system df",
    usage="docker system df [OPTIONS]",
    summary="Show docker disk usage",
    verb="df",
    max_args=0,
    flags=[
        Flag("format", FORMAT_HELP, Kind.STRING, value_name="string"),
        Flag("verbose", "Show detailed information on space usage", short="v"),
    ],
)
async def system_df(inv: Invocation, ctx: HandlerContext) -> Output:
    verbose, fmt = bool(inv.opt("verbose")), inv.opt("format")
    if verbose and fmt not in (None, "", "table"):
        raise NotAvailableYet("`system df -v --format` is not offered yet: use one or the other")
    usage = await engine_images.disk_usage(ctx.docker)
    text = await evaluate(disk.format_df, usage, fmt, verbose=verbose, now=ctx.now())
    return Output(text, filename="system-df.txt")
