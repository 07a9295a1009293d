"""What a worker does for the image and data verbs: push, tag, rmi, the prunes, commit, build,
export, save, cp, import and load.

Each verb is a JobHandler (bot/jobs/queue): what it returns is the job's result, shown in its
status message; what it raises (docker's own wording), its error.  Archives out (export, save,
cp) are written to the host's export directory as they stream; one up to
``transfer.max_upload`` then goes up to Slack, in the status message's thread, and is removed;
a larger one stays where it is, and its path and size are the result.

What the gate judged is what runs: images are acted on by the ID it resolved, or, where docker
acts on the name (rmi untags, push and save name the tag), after checking that the name still
names that image.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import tarfile
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp

from bot.cli_output.formatters.disk import format_container_prune, format_image_prune, format_rmi
from bot.cli_output.formatters.reference import truncate_id
from bot.cli_output.pull import PullProgress
from bot.cli_output.push import PushProgress
from bot.cli_output.units import human_size
from bot.config import TransferConfig
from bot.engine import images as engine_images
from bot.engine import transfer as engine_transfer
from bot.engine.gateway import DockerGateway
from bot.engine.streams import stream_error
from bot.errors import DockerError
from bot.jobs.queue import Cancellable, JobContext
from bot.jobs.queue.context import JobHandler
from bot.slack.out import SlackOut

log = logging.getLogger(__name__)

# Whether a cancel can still stop a running job of each verb (see bot/jobs/verbs.py).  A push,
# a build and the archives out are streams that the engine abandons when they are closed:
# a push then leaves the registry's tag as it was, a build tags nothing, an archive is not
# delivered.  The rest are one engine call each, or hand the engine a whole file.
CANCELLABLE_WHILE_RUNNING: Mapping[str, bool] = {
    "push": True,
    "build": True,
    "export": True,
    "save": True,
    "cp": True,
    "tag": False,
    "rmi": False,
    "image-prune": False,
    "container-prune": False,
    "commit": False,
    "import": False,
    "load": False,
}
PUSH_STOPPED = "the push was stopped before it completed; the registry's tag was not updated"
BUILD_STOPPED = "the build was stopped before it completed; nothing was tagged"
ARCHIVE_STOPPED = "the transfer was stopped; nothing was delivered"

PROGRESS_EVERY = 1.0  # seconds: Slack allows about one chat.update per second per message
BUILD_LOG_LINES = 40  # the status message shows the end of the log (render keeps the last 30)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class _Throttle:
    """Progress at most once a PROGRESS_EVERY; the last word is always sent by the caller."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.last = 0.0

    async def __call__(self, **fields: Any) -> None:
        if time.monotonic() - self.last >= PROGRESS_EVERY:
            self.last = time.monotonic()
            await self.ctx.progress(**fields)


async def same_image(docker: DockerGateway, ref: str, image_id: str) -> None:
    """Raise unless ``ref`` still names the image the gate judged (docker acts on the name)."""
    found = await docker.inspect_image(ref)  # NotFound in the engine's words
    if image_id and found.get("Id") != image_id:
        raise DockerError(
            f"{ref} now names image {truncate_id(str(found.get('Id', '')))}, not {truncate_id(image_id)}, "
            "which was the one checked when this was asked: nothing was done"
        )


def safe_filename(name: str, suffix: str = "") -> str:
    """A file name from a container or image name: no path, no surprises (``a/b:c`` -> ``a_b_c``)."""
    stem = _UNSAFE.sub("_", name).strip("._") or "archive"
    return stem[:100] + suffix


class Delivery:
    """Where an archive goes: Slack when it is small enough, else the host's export directory."""

    def __init__(self, slack: SlackOut, config: TransferConfig, host: str) -> None:
        self.slack = slack
        self.config = config
        self.host = host

    def workfile(self, ctx: JobContext, filename: str) -> Path:
        """A file in the export directory for the archive to stream into (made private to the worker)."""
        folder = Path(self.config.export_dir)
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise DockerError(f"cannot use transfer.export_dir {folder}: {err.strerror or err}") from None
        return folder / f".{ctx.job.id}-{filename}.partial"

    async def deliver(self, ctx: JobContext, work: Path, filename: str, size: int) -> str:
        """Upload ``work`` (then remove it), or keep it as ``filename`` in the export directory; say which."""
        if size <= self.config.max_upload_bytes:
            try:
                await self._upload(ctx, work, filename)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # Slack's refusal or a broken upload: the archive is kept, not lost
                log.warning("job %s: upload of %s failed: %s", ctx.job.id, filename, err)
                kept = self._keep(ctx, work, filename)
                return f"{filename} ({human_size(size)}): Slack did not take the file ({err}); written to {kept}"
            work.unlink(missing_ok=True)
            return f"{filename} ({human_size(size)}) uploaded"
        kept = self._keep(ctx, work, filename)
        return (
            f"{filename} is {human_size(size)}, more than Slack gets from dockbell (transfer.max_upload, "
            f"{human_size(self.config.max_upload_bytes)}): written to {kept} on host {self.host}"
        )

    def _keep(self, ctx: JobContext, work: Path, filename: str) -> Path:
        final = work.with_name(f"{ctx.job.id}-{filename}")
        work.replace(final)
        return final

    async def _upload(self, ctx: JobContext, work: Path, filename: str) -> None:
        data = await asyncio.to_thread(work.read_bytes)
        if not data:
            raise DockerError("the archive is empty")  # Slack refuses an empty file
        reply = ctx.job.reply_to
        channel, thread = reply.channel_id, reply.thread_ts
        if not thread:  # no status message in that channel (dockbell is not in it): to the requester
            channel = await self.slack.open_dm(ctx.job.requester.user_id)
        comment = f"`docker {ctx.job.args.get('command', ctx.job.verb)}`"
        await self.slack.upload(
            channel=channel, filename=filename, content=data, initial_comment=comment, thread_ts=thread or None
        )


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


class ImageJobs:
    """The job handlers of one worker's engine."""

    def __init__(self, docker: DockerGateway, slack: SlackOut, config: TransferConfig, host: str) -> None:
        self.docker = docker
        self.delivery = Delivery(slack, config, host)
        self.config = config

    def handlers(self) -> dict[str, JobHandler]:
        table: dict[str, JobHandler] = {
            "push": Cancellable(self.push, effect=PUSH_STOPPED),
            "build": Cancellable(self.build, effect=BUILD_STOPPED),
            "export": Cancellable(self.export, effect=ARCHIVE_STOPPED),
            "save": Cancellable(self.save, effect=ARCHIVE_STOPPED),
            "cp": Cancellable(self.cp, effect=ARCHIVE_STOPPED),
            "tag": self.tag,
            "rmi": self.rmi,
            "image-prune": self.image_prune,
            "container-prune": self.container_prune,
            "commit": self.commit,
            "import": self.import_,
            "load": self.load,
        }
        return table

    # --- images ---------------------------------------------------------------------------

    async def tag(self, ctx: JobContext) -> str:
        args = ctx.job.args
        await engine_images.tag_image(self.docker, ctx.job.target, str(args["repository"]), str(args["tag"]))
        return f"tagged {args['source']} as {args['target_ref']}"

    async def rmi(self, ctx: JobContext) -> str:
        """Each image in turn, as the CLI does: what was removed, then the errors, which fail the job."""
        lines: list[str] = []
        errors: list[str] = []
        for typed, image_id in ctx.job.args["images"]:
            try:
                await same_image(self.docker, typed, image_id)
                removed = await engine_images.remove_image(
                    self.docker, typed, force=bool(ctx.job.args.get("force")), prune=not ctx.job.args.get("no_prune")
                )
            except DockerError as err:
                errors.append(err.message)
                continue
            lines.extend(format_rmi(removed))
        if errors:
            raise DockerError("\n".join(lines + errors))
        return "\n".join(lines)

    async def push(self, ctx: JobContext) -> str:
        args = ctx.job.args
        reference = str(args["reference"])
        view = PushProgress(reference, quiet=bool(args.get("quiet")))
        await same_image(self.docker, reference, ctx.job.target)
        throttle = _Throttle(ctx)

        async def on_event(event: dict[str, Any]) -> None:
            view.feed(event)
            await throttle(text=view.render(), fraction=round(view.fraction, 3))

        try:
            await engine_images.push(self.docker, str(args["repository"]), str(args["tag"]), on_event=on_event)
        except asyncio.CancelledError:
            if view.done:  # the engine had pushed the manifest before the cancel reached it
                return view.render()
            raise
        if view.error is not None:
            raise DockerError(view.error)
        if not view.done:
            raise DockerError("unexpected EOF")  # the stream ended without the engine's digest
        await ctx.progress(text=view.render(), fraction=1.0)
        return view.render()

    async def image_prune(self, ctx: JobContext) -> str:
        report = await engine_images.prune_images(self.docker, ctx.job.args["filters"])
        return format_image_prune(report)

    async def container_prune(self, ctx: JobContext) -> str:
        report = await engine_images.prune_containers(self.docker, ctx.job.args["filters"])
        return format_container_prune(report)

    async def commit(self, ctx: JobContext) -> str:
        args = ctx.job.args
        return await engine_images.commit(
            self.docker,
            ctx.job.target,
            repository=args.get("repository"),
            tag=args.get("tag"),
            message=args.get("message"),
            author=args.get("author"),
            changes=list(args.get("changes") or []),
            pause=bool(args.get("pause", True)),
        )

    async def build(self, ctx: JobContext) -> str:
        args = ctx.job.args
        request = engine_images.BuildRequest(
            remote=str(args["remote"]),
            tags=tuple(args.get("tags") or ()),
            dockerfile=args.get("dockerfile"),
            build_args=args.get("build_args") or None,
            no_cache=bool(args.get("no_cache")),
            rm=bool(args.get("rm", True)),
            force_rm=bool(args.get("force_rm")),
            target=args.get("target"),
            labels=args.get("labels") or None,
        )
        log_view = BuildLog()
        throttle = _Throttle(ctx)

        async def on_event(event: dict[str, Any]) -> None:
            log_view.feed(event)
            await throttle(text=log_view.tail())

        await engine_images.build(self.docker, request, on_event=on_event)
        if log_view.error is not None:
            raise DockerError(log_view.tail(with_error=True))
        if log_view.image_id is None:
            raise DockerError(log_view.tail() + "\nunexpected EOF: the engine ended the build without an image")
        if args.get("quiet"):
            return log_view.image_id
        return log_view.tail() + "\n" + log_view.image_id

    async def import_(self, ctx: JobContext) -> str:
        args = ctx.job.args
        events = await engine_transfer.import_url(
            self.docker,
            str(args["url"]),
            repository=args.get("repository"),
            tag=args.get("tag"),
            message=args.get("message"),
            changes=list(args.get("changes") or []),
        )
        for event in events:
            if (message := stream_error(event)) is not None:
                raise DockerError(message)
        # The engine's last status is the new image's ID, which is all the CLI prints.
        statuses = [str(e["status"]) for e in events if e.get("status")]
        if not statuses:
            raise DockerError("unexpected EOF: the engine ended the import without an image")
        return statuses[-1]

    async def load(self, ctx: JobContext) -> str:
        args = ctx.job.args
        work = self.delivery.workfile(ctx, "load.tar")
        try:
            await ctx.progress(text=f"fetching {args['url']}")
            size = await download(str(args["url"]), work, self.config.max_download_bytes)
            await ctx.progress(text=f"fetched {human_size(size)}; loading")
            with work.open("rb") as archive:
                events = await engine_transfer.load(self.docker, archive, quiet=bool(args.get("quiet")))
        finally:
            _discard(work)
        out: list[str] = []
        for event in events:
            if (message := stream_error(event)) is not None:
                raise DockerError("\n".join([*out, message]))
            if event.get("stream"):
                out.append(str(event["stream"]).rstrip("\n"))
        return "\n".join(out)

    # --- archives out ---------------------------------------------------------------------

    async def _archive(
        self, ctx: JobContext, filename: str, write: Callable[[Path, Callable[[int], Any]], Awaitable[int]]
    ) -> str:
        work = self.delivery.workfile(ctx, filename)
        throttle = _Throttle(ctx)

        async def on_bytes(total: int) -> None:
            await throttle(text=f"{human_size(total)} received")

        try:
            size = await write(work, on_bytes)
            await ctx.progress(text=f"{human_size(size)} received")
            return await self.delivery.deliver(ctx, work, filename, size)
        finally:
            _discard(work)  # delivered, kept under its own name, or cut short: never left half-written

    async def export(self, ctx: JobContext) -> str:
        name = safe_filename(str(ctx.job.args.get("target_name") or ctx.job.target), ".tar")

        async def write(path: Path, on_bytes: Callable[[int], Any]) -> int:
            limit = self.config.max_export_bytes
            return await engine_transfer.export_container(
                self.docker, ctx.job.target, path, limit=limit, on_bytes=on_bytes
            )

        return await self._archive(ctx, name, write)

    async def save(self, ctx: JobContext) -> str:
        images = [(str(typed), str(image_id)) for typed, image_id in ctx.job.args["images"]]
        for typed, image_id in images:
            await same_image(self.docker, typed, image_id)
        name = safe_filename(images[0][0], ".tar")

        async def write(path: Path, on_bytes: Callable[[int], Any]) -> int:
            refs = [typed for typed, _ in images]
            limit = self.config.max_export_bytes
            return await engine_transfer.save_images(self.docker, refs, path, limit=limit, on_bytes=on_bytes)

        return await self._archive(ctx, name, write)

    async def cp(self, ctx: JobContext) -> str:
        """``cp CONTAINER:PATH -``: a regular file goes up as itself, anything else as the CLI's tar."""
        src = str(ctx.job.args["path"])
        work = self.delivery.workfile(ctx, "cp.tar")
        throttle = _Throttle(ctx)

        async def on_bytes(total: int) -> None:
            await throttle(text=f"{human_size(total)} received")

        try:
            stat, size = await engine_transfer.copy_from(
                self.docker, ctx.job.target, src, work, limit=self.config.max_export_bytes, on_bytes=on_bytes
            )
            plain = None if stat.is_dir or stat.is_symlink else await asyncio.to_thread(_single_file, work)
            if plain is None:
                return await self.delivery.deliver(ctx, work, safe_filename(stat.name or "copy", ".tar"), size)
            try:
                return await self.delivery.deliver(ctx, plain, safe_filename(stat.name or "file"), stat.size)
            finally:
                _discard(plain)
        finally:
            _discard(work)


def _single_file(archive: Path) -> Path | None:
    """The one regular file in a cp archive, extracted beside it; None if it holds anything else."""
    with tarfile.open(archive, "r:") as tar:
        members = tar.getmembers()
        if len(members) != 1 or not members[0].isfile():
            return None
        source = tar.extractfile(members[0])
        if source is None:
            return None
        out = archive.with_name(archive.name + ".file")
        with source, out.open("wb") as sink:
            shutil.copyfileobj(source, sink)
        return out


class BuildLog:
    """The legacy builder's stream as the CLI prints it: ``stream`` text, status lines, the error."""

    def __init__(self) -> None:
        self.text = ""
        self.error: str | None = None
        self.image_id: str | None = None
        self._pulls = PullProgress()  # a FROM that pulls its base image shows the pull's lines

    def feed(self, event: Mapping[str, Any]) -> None:
        if (message := stream_error(event)) is not None:
            self.error = message
            return
        aux = event.get("aux")
        if isinstance(aux, Mapping) and aux.get("ID"):
            self.image_id = str(aux["ID"])
        if "stream" in event:
            self.text += str(event["stream"])
        elif event.get("status"):
            ident = str(event.get("id") or "")
            self.text += (f"{ident}: " if ident else "") + str(event["status"]) + "\n"

    def tail(self, *, with_error: bool = False) -> str:
        lines = self.text.rstrip("\n").split("\n")[-BUILD_LOG_LINES:]
        if with_error and self.error:
            lines.append(self.error)
        return "\n".join(lines).strip("\n")


async def download(url: str, path: Path, limit: int) -> int:
    """Fetch ``url`` into ``path`` (``load -i URL``); at most ``limit`` bytes; its size."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)
    total = 0
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
            if response.status != 200:
                raise DockerError(f"error fetching {url}: HTTP {response.status} {response.reason or ''}".rstrip())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                async for chunk in response.content.iter_chunked(1024 * 1024):
                    total += len(chunk)
                    if total > limit:
                        raise DockerError(f"{url} is larger than transfer.max_download ({human_size(limit)})")
                    out.write(chunk)
    except (aiohttp.ClientError, TimeoutError) as err:
        raise DockerError(f"error fetching {url}: {err or type(err).__name__}") from None
    except BaseException:
        _discard(path)
        raise
    return total


def image_job_handlers(
    docker: DockerGateway, slack: SlackOut, config: TransferConfig, host: str
) -> dict[str, JobHandler]:
    """The worker's handlers for the image and data verbs (merged with bot.jobs.verbs.handlers_for)."""
    return ImageJobs(docker, slack, config, host).handlers()
