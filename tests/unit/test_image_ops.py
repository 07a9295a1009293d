"""Pure parts of the image and data commands: docker's output for df, prunes, rmi and push; the
build log; the transfer config; the job table; the parse of every new command."""

from __future__ import annotations

from typing import Any, cast

import pytest

from bot.bootstrap.worker import build_registry
from bot.cli_output.formatters.disk import (
    df_rows,
    format_container_prune,
    format_df,
    format_image_prune,
    format_rmi,
)
from bot.cli_output.push import PushProgress
from bot.config import TransferConfig, parse_config
from bot.core import dispatch
from bot.engine.gateway import DockerGateway
from bot.errors import ConfigError, HelpRequested, NotAvailableYet, ParseError
from bot.jobs.image_jobs import CANCELLABLE_WHILE_RUNNING, BuildLog, image_job_handlers, safe_filename
from bot.jobs.queue import Cancellable
from bot.jobs.verbs import cancellable_while_running
from bot.slack.out import SlackOut

MB = 1000 * 1000


def _df(**parts: Any) -> dict[str, Any]:
    return {"LayersSize": 0, "Images": [], "Containers": [], "Volumes": [], "BuildCache": [], **parts}


def test_df_counts_and_reclaimable_as_the_cli_computes_them() -> None:
    df = _df(
        LayersSize=10 * MB,
        Images=[
            {"Containers": 2, "Size": 6 * MB, "SharedSize": 2 * MB},  # in use: frees only its unique 4 MB
            {"Containers": 0, "Size": 4 * MB, "SharedSize": 0},
            {"Containers": 1, "Size": -1, "SharedSize": -1},  # sizes unknown: not counted as used
        ],
        Containers=[
            {"State": "running", "SizeRw": 100},
            {"State": "exited", "SizeRw": 300},
            {"State": "paused", "SizeRw": 0},
        ],
        Volumes=[
            {"UsageData": {"Size": 1000, "RefCount": 1}},
            {"UsageData": {"Size": 3000, "RefCount": 0}},
            {"UsageData": {"Size": -1, "RefCount": 0}},
        ],
    )
    rows = [(r.Type(), r.TotalCount(), r.Active(), r.Size(), r.Reclaimable()) for r in df_rows(df)]
    assert rows == [
        ("Images", "3", "2", "10MB", "6MB (60%)"),
        ("Containers", "3", "2", "400B", "300B (75%)"),
        ("Local Volumes", "3", "1", "4kB", "3kB (75%)"),
        ("Build Cache", "0", "0", "0B", "0B"),
    ]


def test_df_table_and_formats() -> None:
    text = format_df(_df(), None, verbose=False, now=0)
    assert text.split("\n")[0] == "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE"
    assert text.split("\n")[1] == "Images          0         0         0B        0B"
    assert format_df(_df(), "{{.Type}}", verbose=False, now=0) == "Images\nContainers\nLocal Volumes\nBuild Cache\n"
    raw = format_df(_df(), "raw", verbose=False, now=0)
    assert raw.startswith("type: Images\ntotal: 0\nactive: 0\nsize: 0B\nreclaimable: 0B\n")
    verbose = format_df(_df(), None, verbose=True, now=0)
    assert verbose.startswith("Images space usage:\n\nREPOSITORY   TAG       IMAGE ID   CREATED   SIZE ")
    assert "\nBuild cache usage: 0B\n\n" in verbose


def test_prune_and_rmi_output() -> None:
    report = {"ImagesDeleted": [{"Untagged": "a:1"}, {"Deleted": "sha256:x"}], "SpaceReclaimed": 1_500_000}
    assert (
        format_image_prune(report)
        == "Deleted Images:\nuntagged: a:1\ndeleted: sha256:x\n\nTotal reclaimed space: 1.5MB"
    )
    assert format_image_prune({"ImagesDeleted": None, "SpaceReclaimed": 99}) == "Total reclaimed space: 0B"
    assert format_container_prune({"ContainersDeleted": ["c1", "c2"], "SpaceReclaimed": 0}) == (
        "Deleted Containers:\nc1\nc2\n\nTotal reclaimed space: 0B"
    )
    assert format_rmi([{"Untagged": "a:1"}, {"Deleted": "sha256:x"}]) == ["Untagged: a:1", "Deleted: sha256:x"]


PUSH_EVENTS: list[dict[str, Any]] = [
    {"status": "The push refers to repository [127.0.0.1:5000/app]"},
    {"status": "Preparing", "progressDetail": {}, "id": "aaa"},
    {"status": "Preparing", "progressDetail": {}, "id": "bbb"},
    {"status": "Pushing", "progressDetail": {"current": 50, "total": 100}, "id": "aaa"},
    {"status": "Layer already exists", "progressDetail": {}, "id": "bbb"},
]
PUSH_END: list[dict[str, Any]] = [
    {"status": "Pushed", "progressDetail": {}, "id": "aaa"},
    {"status": "latest: digest: sha256:" + "0" * 64 + " size: 528"},
    {"progressDetail": {}, "aux": {"Tag": "latest", "Digest": "sha256:" + "0" * 64, "Size": 528}},
]


def test_push_progress_is_the_terminal_view() -> None:
    view = PushProgress("127.0.0.1:5000/app")
    for event in PUSH_EVENTS:
        view.feed(event)
    assert not view.done and 0.5 < view.fraction < 1  # half of one layer to go
    assert view.render().split("\n")[:2] == [
        "Using default tag: latest",
        "The push refers to repository [127.0.0.1:5000/app]",
    ]
    assert view.render().split("\n")[2].startswith("aaa: Pushing [=========================>")
    for event in PUSH_END:
        view.feed(event)
    assert view.done and view.fraction == 1.0
    assert view.render().split("\n")[2:] == [
        "aaa: Pushed",
        "bbb: Layer already exists",
        "latest: digest: sha256:" + "0" * 64 + " size: 528",
    ]
    quiet = PushProgress("127.0.0.1:5000/app:v2", quiet=True)
    assert quiet.render() == ""
    quiet.feed(PUSH_END[-1])
    assert quiet.render() == "127.0.0.1:5000/app:v2"
    with pytest.raises(ParseError, match="must be lowercase"):
        PushProgress("App")


def test_build_log_keeps_the_end_and_the_error() -> None:
    log = BuildLog()
    for n in range(100):
        log.feed({"stream": f"line {n}\n"})
    log.feed({"aux": {"ID": "sha256:abc"}})
    assert log.image_id == "sha256:abc"
    assert log.tail().split("\n")[-1] == "line 99" and len(log.tail().split("\n")) == 40
    log.feed({"errorDetail": {"code": 3, "message": "boom"}, "error": "boom"})
    assert log.error == "boom" and log.tail(with_error=True).endswith("line 99\nboom")


def test_transfer_config() -> None:
    transfer = parse_config({"transfer": {"max_upload": "10MB", "export_dir": "/srv/exports/"}}).transfer
    assert transfer.max_upload_bytes == 10 * 1024**2 and transfer.export_dir == "/srv/exports"
    for bad, words in (
        ({"max_upload": "2GB"}, "Slack takes files up to 1GB"),
        ({"export_dir": "exports"}, "expected an absolute path"),
        ({"max_upload": "10MB", "max_export": "1MB"}, "at least transfer.max_upload"),
        ({"size": 1}, "unknown key 'size'"),
        ({"max_download": "lots"}, "expected a size"),
    ):
        with pytest.raises(ConfigError, match=words):
            parse_config({"transfer": bad})


def test_the_job_table_matches_what_a_cancel_can_stop() -> None:
    handlers = image_job_handlers(cast(DockerGateway, None), cast(SlackOut, None), TransferConfig(), "local")
    assert handlers.keys() == CANCELLABLE_WHILE_RUNNING.keys()
    assert {verb: isinstance(h, Cancellable) for verb, h in handlers.items()} == CANCELLABLE_WHILE_RUNNING
    assert cancellable_while_running("push") and not cancellable_while_running("rmi")


def test_safe_filename() -> None:
    assert safe_filename("127.0.0.1:5000/team/app:v1", ".tar") == "127.0.0.1_5000_team_app_v1.tar"
    assert safe_filename("../..", ".tar") == "archive.tar"


REGISTRY = build_registry()


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("push --help", "Usage:  docker push [OPTIONS] NAME[:TAG]"),
        ("image prune --help", "Remove all unused images, not just dangling ones"),
        ("system df --help", "Show detailed information on space usage"),
        ("build --help", "--build-arg list"),
        ("cp --help", "docker cp [OPTIONS] CONTAINER:SRC_PATH -"),
    ],
)
def test_help(line: str, words: str) -> None:
    with pytest.raises(HelpRequested) as found:
        dispatch.parse(line, REGISTRY)
    assert words in found.value.text


@pytest.mark.parametrize(
    ("line", "error", "words"),
    [
        ("push -a x", NotAvailableYet, "pushing every tag is not offered"),
        ("tag x", ParseError, "requires exactly 2 arguments"),
        ("save -o x.tar img", NotAvailableYet, "the archive goes up to Slack"),
        ("rmi", ParseError, "requires at least 1 argument"),
        ("build --pull http://x/c.tar", NotAvailableYet, "--pull is not offered yet"),
        ("image prune extra", ParseError, "accepts no arguments"),
    ],
)
def test_parse_errors(line: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        dispatch.parse(line, REGISTRY)
