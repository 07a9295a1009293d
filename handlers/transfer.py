"""Moving data in and out: commit, export, cp, save (out), import, load, build (in).

Every one is a job (bot/jobs/image_jobs.py).  Archives out go up to Slack when they are small
enough (``transfer.max_upload``), else to the host's export directory, and the status message
says which.  What comes in comes from a URL: the engine fetches it for import and build, the
worker for load.  Nothing is ever read from the worker's own disk or environment, as the docker
CLI would read the client's (a local build context, ``-o FILE``, ``--build-arg KEY`` without a
value): those are refused with the reason.
"""

from __future__ import annotations

import re

from bot.cli_output.formatters.reference import Reference, parse_normalized_named
from bot.cli_output.pull import DEFAULT_TAG
from bot.core.cliparse import Flag, Kind
from bot.core.registry import command
from bot.core.types import Invocation, Output
from bot.errors import NotAvailableYet, NotFound, ParseError
from bot.jobs.context import HandlerContext
from bot.jobs.visible import no_such
from bot.policy import Target
from handlers.images_ops import _visible
from handlers.lifecycle import _queue

TRANSFER_TIMEOUT = 60 * 60.0  # an archive of a whole container, a build: long, never unlimited
COMMIT_TIMEOUT = 10 * 60.0
_URL = re.compile(r"^https?://[^\s/]+\S*$")
# docker's urlutil.IsGitURL: git:// and git@, or https?:// ending in .git (with an optional #ref).
_GIT = re.compile(r"^(git://|git@)\S+$|^https?://\S+\.git(#\S*)?$")
_NO_FILES = "dockbell reads nothing from the worker's disk"
_TO_SLACK = "the archive goes up to Slack, or to transfer.export_dir when larger than transfer.max_upload"


def _container(ctx: HandlerContext) -> Target:
    target = ctx.targets[0]
    if not target.id:
        raise NotFound(no_such("container", target.name))
    return target


def _repository(text: str) -> Reference:
    try:
        ref = parse_normalized_named(text)
    except ValueError as err:
        raise ParseError(str(err)) from None
    if ref.digest:
        raise ParseError("invalid reference format: a digest cannot be a tag")
    return ref


def _url(text: str, what: str) -> str:
    if not _URL.match(text):
        raise NotAvailableYet(f"{what} must be an http:// or https:// URL: {_NO_FILES}")
    return text


@command(
    "commit",
    aliases=("container commit",),
    usage="docker commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
    summary="Create a new image from a container's changes",
    min_args=1,
    max_args=2,
    targets="container:first",
    group="admin",
    flags=[
        Flag("author", 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")', Kind.STRING, short="a"),
        Flag("change", "Apply Dockerfile instruction to the created image", Kind.LIST, short="c", value_name="list"),
        Flag("message", "Commit message", Kind.STRING, short="m"),
        Flag("pause", "Pause container during commit", short="p", default=True),
    ],
)
async def commit(inv: Invocation, ctx: HandlerContext) -> Output:
    new = _repository(inv.args[1]) if len(inv.args) > 1 else None
    await ctx.jobs.require_live(ctx.access.host)
    target = _container(ctx)
    args: dict[str, object] = {
        "repository": new.familiar_name() if new else None,
        "tag": (new.tag or DEFAULT_TAG) if new else None,
        "message": inv.opt("message"),
        "author": inv.opt("author"),
        "changes": list(inv.opt("change")),
        "pause": bool(inv.opt("pause")),
    }
    # Not idempotent: a second run after a worker died would make a second image.
    return await _queue(inv, ctx, [target], verb="commit", args=args, timeout=COMMIT_TIMEOUT, idempotent=False)


@command(
    "export",
    aliases=("container export",),
    usage="docker export [OPTIONS] CONTAINER",
    summary="Export a container's filesystem as a tar archive",
    min_args=1,
    max_args=1,
    targets="container:first",
    group="admin",
    flags=[Flag("output", "Write to a file, instead of STDOUT", Kind.STRING, short="o", not_available=_TO_SLACK)],
)
async def export(inv: Invocation, ctx: HandlerContext) -> Output:
    await ctx.jobs.require_live(ctx.access.host)
    target = _container(ctx)
    return await _queue(inv, ctx, [target], verb="export", args={}, timeout=TRANSFER_TIMEOUT, idempotent=True)


def _split_cp(arg: str) -> tuple[str, str] | None:
    """docker's splitCpArg: ``CONTAINER:PATH``, or None for a local path (``/x``, ``./x``, ``x`` without colon)."""
    if arg.startswith(("/", ".", "~")) or ":" not in arg:
        return None
    container, _, path = arg.partition(":")
    return container, path


@command(
    "cp",
    aliases=("container cp",),
    usage="docker cp [OPTIONS] CONTAINER:SRC_PATH -",
    summary="Copy files/folders from a container to Slack",
    min_args=2,
    max_args=2,
    targets="container:path",
    group="admin",
    flags=[
        Flag("archive", "Archive mode (copy all uid/gid information)", short="a"),
        Flag(
            "follow-link",
            "Always follow symbol link in SRC_PATH",
            short="L",
            not_available="following links is not offered yet: name the link's target",
        ),
        Flag(
            "quiet",
            "Suppress progress output during copy. Progress output is automatically suppressed if no "
            "terminal is attached",
            short="q",
        ),
    ],
)
async def cp(inv: Invocation, ctx: HandlerContext) -> Output:
    src, dest = inv.args
    parts = _split_cp(src)
    if parts is None:
        raise NotAvailableYet(f"dockbell copies out of containers only (`cp CONTAINER:PATH -`): {_NO_FILES}")
    if dest != "-":
        raise NotAvailableYet("the destination must be `-`: the file (or a tar of a folder) goes up to Slack")
    _, path = parts
    if not path:
        raise ParseError(f'invalid path: "{src}" names no path in the container')
    await ctx.jobs.require_live(ctx.access.host)
    target = _container(ctx)
    return await _queue(inv, ctx, [target], verb="cp", args={"path": path}, timeout=TRANSFER_TIMEOUT, idempotent=True)


@command(
    "save",
    aliases=("image save",),
    usage="docker save [OPTIONS] IMAGE [IMAGE...]",
    summary="Save one or more images to a tar archive",
    min_args=1,
    targets="image:all",
    group="admin",
    flags=[
        Flag("output", "Write to a file, instead of STDOUT", Kind.STRING, short="o", not_available=_TO_SLACK),
        Flag(
            "platform",
            "Save only the given platform variant",
            Kind.STRING,
            value_name="strings",
            not_available="--platform is not offered yet",
        ),
    ],
)
async def save(inv: Invocation, ctx: HandlerContext) -> Output:
    await ctx.jobs.require_live(ctx.access.host)
    missing = [t.name for t in ctx.targets if not t.id]
    if missing:  # save names the image as typed, without the :latest that rmi's error adds
        raise NotFound("\n".join(f"Error response from daemon: No such image: {m}" for m in missing))
    images = _visible(ctx)
    pairs = [[typed, t.id] for typed, t in zip(inv.args, images, strict=True)]
    first = images[0] if len(images) == 1 else Target(kind="image", name=" ".join(inv.args), id=images[0].id)
    args: dict[str, object] = {"images": pairs}
    return await _queue(inv, ctx, [first], verb="save", args=args, timeout=TRANSFER_TIMEOUT, idempotent=True)


def _host_target(ctx: HandlerContext) -> Target:
    return Target(kind="host", name=ctx.access.host)


@command(
    "import",
    aliases=("image import",),
    usage="docker import [OPTIONS] URL [REPOSITORY[:TAG]]",
    summary="Import the contents from a tarball to create a filesystem image",
    min_args=1,
    max_args=2,
    group="admin",
    flags=[
        Flag("change", "Apply Dockerfile instruction to the created image", Kind.LIST, short="c", value_name="list"),
        Flag("message", "Set commit message for imported image", Kind.STRING, short="m"),
        Flag(
            "platform",
            "Set platform if server is multi-platform capable",
            Kind.STRING,
            value_name="string",
            not_available="--platform is not offered yet",
        ),
    ],
)
async def import_(inv: Invocation, ctx: HandlerContext) -> Output:
    url = _url(inv.args[0], "the source")
    new = _repository(inv.args[1]) if len(inv.args) > 1 else None
    await ctx.jobs.require_live(ctx.access.host)
    args: dict[str, object] = {
        "url": url,
        "repository": new.familiar_name() if new else None,
        "tag": (new.tag or DEFAULT_TAG) if new else None,
        "message": inv.opt("message"),
        "changes": list(inv.opt("change")),
    }
    target = _host_target(ctx)
    return await _queue(inv, ctx, [target], verb="import", args=args, timeout=TRANSFER_TIMEOUT, idempotent=False)


@command(
    "load",
    aliases=("image load",),
    usage="docker load [OPTIONS]",
    summary="Load an image from a tar archive at a URL",
    max_args=0,
    group="admin",
    flags=[
        Flag("input", "Read from the tar archive at this URL", Kind.STRING, short="i", value_name="URL"),
        Flag("quiet", "Suppress the load output", short="q"),
        Flag(
            "platform",
            "Load only the given platform variant",
            Kind.STRING,
            value_name="strings",
            not_available="--platform is not offered yet",
        ),
    ],
)
async def load(inv: Invocation, ctx: HandlerContext) -> Output:
    source = inv.opt("input")
    if not source:
        raise NotAvailableYet("chat has no standard input: give the archive's URL with `-i URL`")
    args = {"url": _url(source, "-i"), "quiet": bool(inv.opt("quiet"))}
    await ctx.jobs.require_live(ctx.access.host)
    target = _host_target(ctx)
    return await _queue(inv, ctx, [target], verb="load", args=args, timeout=TRANSFER_TIMEOUT, idempotent=False)


def _not_offered(name: str, help_text: str, kind: Kind = Kind.STRING, short: str | None = None) -> Flag:
    return Flag(name, help_text, kind, short=short, not_available=f"--{name} is not offered yet")


def _key_values(values: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in values:
        key, eq, value = raw.partition("=")
        if not eq:
            # The CLI would take the value from its own environment: here, the worker's.
            raise NotAvailableYet(f"{flag} {raw} without a value would read the worker's environment: give {raw}=VALUE")
        out[key] = value
    return out


def _labels(values: list[str]) -> dict[str, str]:
    """``--label k=v``; a bare ``k`` is a label with an empty value, as the CLI reads it."""
    return {key: value for key, _, value in (raw.partition("=") for raw in values)}


def _tags(values: list[str]) -> list[str]:
    tags = []
    for raw in values:
        try:
            ref = parse_normalized_named(raw)
        except ValueError as err:
            raise ParseError(f'invalid argument "{raw}" for "-t, --tag" flag: {err}') from None
        tags.append(f"{ref.familiar_name()}:{ref.tag or DEFAULT_TAG}")
    return tags


@command(
    "build",
    aliases=("image build", "builder build"),
    usage="docker build [OPTIONS] URL",
    summary="Build an image from a git repository or a tarball at a URL",
    min_args=1,
    max_args=1,
    group="admin",
    flags=[
        Flag("build-arg", "Set build-time variables", Kind.LIST, value_name="list"),
        Flag("file", "Name of the Dockerfile (Default is 'PATH/Dockerfile')", Kind.STRING, short="f"),
        Flag("label", "Set metadata for an image", Kind.LIST, value_name="list"),
        Flag("force-rm", "Always remove intermediate containers"),
        Flag("no-cache", "Do not use cache when building the image"),
        Flag("quiet", "Suppress the build output and print image ID on success", short="q"),
        Flag("rm", "Remove intermediate containers after a successful build", default=True),
        Flag("tag", 'Name and optionally a tag in the "name:tag" format', Kind.LIST, short="t", value_name="list"),
        Flag("target", "Set the target build stage to build.", Kind.STRING),
        _not_offered("cache-from", "Images to consider as cache sources", Kind.LIST),
        _not_offered("iidfile", "Write the image ID to the file"),
        _not_offered("network", 'Set the networking mode for the RUN instructions during build (default "default")'),
        _not_offered("platform", "Set platform if server is multi-platform capable"),
        _not_offered("pull", "Always attempt to pull a newer version of the image", Kind.BOOL),
        _not_offered("secret", "Secret to expose to the build", Kind.LIST),
    ],
)
async def build(inv: Invocation, ctx: HandlerContext) -> Output:
    context = inv.args[0]
    if not (_GIT.match(context) or _URL.match(context)):
        raise NotAvailableYet(f"the build context must be a git URL or a tarball's URL: {_NO_FILES}")
    args: dict[str, object] = {
        "remote": context,
        "tags": _tags(inv.opt("tag")),
        "dockerfile": inv.opt("file"),
        "build_args": _key_values(inv.opt("build_arg"), "--build-arg"),
        "labels": _labels(inv.opt("label")),
        "no_cache": bool(inv.opt("no_cache")),
        "rm": bool(inv.opt("rm")),
        "force_rm": bool(inv.opt("force_rm")),
        "target": inv.opt("target"),
        "quiet": bool(inv.opt("quiet")),
    }
    await ctx.jobs.require_live(ctx.access.host)
    target = _host_target(ctx)
    return await _queue(inv, ctx, [target], verb="build", args=args, timeout=TRANSFER_TIMEOUT, idempotent=True)
