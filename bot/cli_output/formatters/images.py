"""``docker images`` output, from docker/cli's formatter/image.go.

One Engine image (``GET /images/json``, docker-py's ``api.images()``) becomes one row per
``repository:tag`` - or one ``<none> <none>`` row when dangling - exactly as ``ImageWrite``
expands ``RepoTags``/``RepoDigests``. Rows keep the API's order: the daemon already sorts
images newest first and the CLI does not re-sort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from bot.cli_output.formatters.containers import go_time_string
from bot.cli_output.formatters.reference import ReferenceError, parse_normalized_named, truncate_id
from bot.cli_output.gotemplate import GoStruct
from bot.cli_output.units import human_size, time_ago

__all__ = [
    "IMAGES_DEFAULT_TABLE",
    "IMAGES_DEFAULT_TABLE_WITH_DIGEST",
    "IMAGE_HEADERS",
    "ImageContext",
    "image_rows",
    "images_format",
]

_CREATED = "{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}"
IMAGES_DEFAULT_TABLE = f"table {{{{.Repository}}}}\t{{{{.Tag}}}}\t{{{{.ID}}}}\t{_CREATED}\t{{{{.Size}}}}"
IMAGES_DEFAULT_TABLE_WITH_DIGEST = (
    f"table {{{{.Repository}}}}\t{{{{.Tag}}}}\t{{{{.Digest}}}}\t{{{{.ID}}}}\t{_CREATED}\t{{{{.Size}}}}"
)
IMAGES_RAW_FORMAT = (
    "repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\n"
    "virtual_size: {{.Size}}\n"
)
IMAGES_RAW_FORMAT_WITH_DIGEST = (
    "repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\n"
    "created_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n"
)

IMAGE_HEADERS: dict[str, str] = {
    "ID": "IMAGE ID",
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "Digest": "DIGEST",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "Size": "SIZE",
    "Containers": "CONTAINERS",
    "VirtualSize": "SIZE",
    "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
}

_NONE = "<none>"
# time.Time{}.Unix(): what the Engine reports as Created for an image that has no date, and
# the only value Go's IsZero() calls zero (0 is 1970, "56 years ago" for docker too).
GO_ZERO_TIME = -62135596800


def images_format(fmt: str | None, *, quiet: bool, digests: bool) -> str:
    """docker's ``NewImageFormat`` (after ``docker images`` turned "" into "table")."""
    if fmt in (None, "", "table"):
        if quiet:
            return "{{.ID}}"
        return IMAGES_DEFAULT_TABLE_WITH_DIGEST if digests else IMAGES_DEFAULT_TABLE
    if fmt == "raw":
        if quiet:
            return "image_id: {{.ID}}"
        return IMAGES_RAW_FORMAT_WITH_DIGEST if digests else IMAGES_RAW_FORMAT
    if fmt.startswith("table") and digests and "{{.Digest}}" not in fmt:
        return fmt + "\t{{.Digest}}"
    return fmt


@dataclass(frozen=True)
class _Options:
    trunc: bool
    now: float
    tz: tzinfo


class ImageContext(GoStruct):
    """One row of ``docker images``."""

    go_type = "*formatter.imageContext"

    def __init__(self, api: Mapping[str, Any], repo: str, tag: str, digest: str, options: _Options) -> None:
        self.api = api
        self.repo = repo
        self.tag = tag
        self.digest = digest
        self.options = options

    def ID(self) -> str:
        image_id: str = self.api.get("Id", "")
        return truncate_id(image_id) if self.options.trunc else image_id

    def Repository(self) -> str:
        return self.repo

    def Tag(self) -> str:
        return self.tag

    def Digest(self) -> str:
        return self.digest

    def CreatedSince(self) -> str:
        created = self.api.get("Created") or 0
        if created == GO_ZERO_TIME:  # no creation date: "" (the default table shows N/A)
            return ""
        return time_ago(created, self.options.now)

    def CreatedAt(self) -> str:
        return go_time_string(self.api.get("Created") or 0, self.options.tz)

    def Size(self) -> str:
        return human_size(self.api.get("Size") or 0)

    def Containers(self) -> str:
        containers = self.api.get("Containers", -1)
        return "N/A" if containers == -1 else str(containers)

    def VirtualSize(self) -> str:
        return human_size(self.api.get("Size") or 0, 4)

    def SharedSize(self) -> str:
        shared = self.api.get("SharedSize", -1)
        return "N/A" if shared == -1 else human_size(shared, 4)

    def UniqueSize(self) -> str:
        size, shared = self.api.get("Size", -1), self.api.get("SharedSize", -1)
        return "N/A" if -1 in (size, shared) else human_size(size - shared, 4)


def _is_dangling(api: Mapping[str, Any]) -> bool:
    tags = api.get("RepoTags") or []
    digests = api.get("RepoDigests") or []
    if not tags and not digests:
        return True
    return tags == ["<none>:<none>"] and digests == ["<none>@<none>"]


def _group_refs(refs: Sequence[str], *, want_digest: bool) -> dict[str, list[str]]:
    """Familiar repository name -> its tags (or digests), in order of appearance."""
    grouped: dict[str, list[str]] = {}
    for text in refs:
        try:
            ref = parse_normalized_named(text)
        except ReferenceError:
            continue  # "<none>:<none>" and friends
        value = ref.digest if want_digest else ref.tag
        if value:
            grouped.setdefault(ref.familiar_name(), []).append(value)
    return grouped


def _expand(api: Mapping[str, Any], *, digests: bool, need_digest: bool, options: _Options) -> list[ImageContext]:
    # imageFormatTaggedAndDigest. The CLI walks Go maps here, so with several repositories
    # for one image its row order is random; ours is the order of RepoTags.
    repo_tags = _group_refs(api.get("RepoTags") or [], want_digest=False)
    repo_digests = _group_refs(api.get("RepoDigests") or [], want_digest=True)
    rows: list[ImageContext] = []
    for repo, tags in repo_tags.items():
        repo_dgsts = repo_digests.pop(repo, []) if need_digest else []
        repo_digests.pop(repo, None)  # digests never get rows of their own when tagged
        for tag in tags:
            for dgst in repo_dgsts or [_NONE]:
                rows.append(ImageContext(api, repo, tag, dgst, options))
    for repo, dgsts in repo_digests.items():
        if digests:
            rows.extend(ImageContext(api, repo, _NONE, dgst, options) for dgst in dgsts)
        else:
            rows.append(ImageContext(api, repo, _NONE, "", options))
    return rows


def image_rows(
    api_images: Sequence[Mapping[str, Any]],
    *,
    digests: bool,
    trunc: bool,
    now: float,
    fmt: str | None = None,
    tz: tzinfo = UTC,
) -> list[ImageContext]:
    """The rows ``docker images`` prints for these API images.

    ``digests`` is ``--digests``; the DIGEST value is also filled when ``fmt`` (the
    ``--format`` value) mentions ``{{.Digest}}``, as the CLI does.
    """
    options = _Options(trunc=trunc, now=now, tz=tz)
    need_digest = digests or (fmt is not None and "{{.Digest}}" in fmt)
    rows: list[ImageContext] = []
    for api in api_images:
        if _is_dangling(api):
            rows.append(ImageContext(api, _NONE, _NONE, _NONE, options))
        else:
            rows.extend(_expand(api, digests=digests, need_digest=need_digest, options=options))
    return rows
