"""What the playground says when this machine lacks Docker or Redis: one line that says what to do."""

from __future__ import annotations

import pytest

from bot.playground import main as playground_cli
from bot.playground import services
from bot.playground.services import PlaygroundError, check_docker, redis_for_playground

ASYNC = pytest.mark.asyncio(loop_scope="session")


@ASYNC
async def test_an_engine_that_does_not_answer_is_named_with_what_to_do() -> None:
    with pytest.raises(PlaygroundError) as caught:
        await check_docker("unix:///nonexistent/dockbell-playground.sock")
    message = str(caught.value)
    assert message.startswith("Docker is not reachable at unix:///nonexistent/dockbell-playground.sock")
    assert "start dockerd (or Docker Desktop), or set DOCKER_HOST" in message


@ASYNC
async def test_no_redis_server_and_no_redis_url_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services.shutil, "which", lambda name: None)
    with pytest.raises(PlaygroundError) as caught:
        await redis_for_playground(None)
    assert "apt-get install redis-server" in str(caught.value) and "REDIS_URL" in str(caught.value)


@ASYNC
async def test_a_redis_url_that_does_not_answer_is_said_so() -> None:
    with pytest.raises(PlaygroundError, match=r"Redis at redis://127.0.0.1:9/0 does not answer"):
        await redis_for_playground("redis://127.0.0.1:9/0")


def test_the_command_prints_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/dockbell-playground.sock")
    assert playground_cli.playground_main(0, None) == 2
    err = capsys.readouterr().err
    assert err.startswith("dockbell playground: Docker is not reachable") and err.count("\n") == 1
    assert "Traceback" not in err
