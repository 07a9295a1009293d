"""End to end, in a real browser: `dockbell playground` as a new user meets it.

The playground (its fake Slack, a private redis-server, `dockbell serve` and its worker as
child processes, against the real engine) runs on this test's loop; headless Chromium from
Debian's ``chromium`` package, driven by Playwright, types and clicks on the page. Every wait is
on something the page shows. Screenshots of each step go to $DOCKBELL_SCREENSHOTS when set
(``DOCKBELL_SCREENSHOTS=docs/images`` refreshes the README's), else to a temp dir.

Without /usr/bin/chromium or Playwright the test is skipped on a developer's machine and fails
in CI (CI=true): there it must run.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker
import pytest
import pytest_asyncio

from bot.playground.run import Options, Playground
from tests.playground.conftest import CALL_FAILED
from tests.rig import Containers

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.e2e, pytest.mark.timeout(300)]

CHROMIUM = Path("/usr/bin/chromium")
# No browser download is possible: the system's chromium, with nothing that reaches the network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUICK_STOP = ["sh", "-c", 'trap "exit 0" TERM; while true; do sleep 1; done']
WAIT_MS = 60_000  # a loaded 2-core machine starts a cold worker slowly; a page wait gives up after this


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: the browser test must run in CI (scripts/test installs chromium and playwright)")
    pytest.skip(reason)


def _playwright() -> Any:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        _unavailable("no /usr/bin/chromium (apt-get install chromium)")
    return async_playwright


def _shots() -> Path:
    target = Path(os.environ.get("DOCKBELL_SCREENSHOTS") or tempfile.mkdtemp(prefix="dockbell-shots-"))
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def playground() -> AsyncIterator[Playground]:
    _playwright()  # skip (or fail in CI) before starting anything
    ground = Playground(Options(port=0, redis_url=None, docker_host=os.environ.get("DOCKER_HOST") or None))
    try:
        await ground.start()
        yield ground
    finally:
        await ground.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def page(playground: Playground, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    async_playwright = _playwright()
    with tempfile.TemporaryDirectory(prefix="dockbell-chromium-") as profile:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 1600, "height": 900},
            )
            try:
                tab = context.pages[0] if context.pages else await context.new_page()
                errors: list[str] = []
                tab.on("pageerror", lambda error: errors.append(str(error)))
                await tab.goto(playground.url)
                await tab.wait_for_selector("#person option", state="attached")
                yield tab
                if request.node.stash.get(CALL_FAILED, False):
                    await _keep_evidence(tab, request.node.name)
                assert errors == [], f"the page's JavaScript failed: {errors}"
            finally:
                await context.close()


async def _keep_evidence(tab: Any, name: str) -> None:
    """What the page showed when its test failed: a screenshot and its text, named in the output."""
    target = Path(tempfile.mkdtemp(prefix="dockbell-failed-"))
    await tab.screenshot(path=str(target / f"{name}.png"), full_page=True)
    (target / f"{name}.txt").write_text(await tab.inner_text("body"), encoding="utf-8")
    print(f"the page when {name} failed: {target}")


async def _run(containers: Containers, name: str, cmd: list[str], labels: dict[str, str] | None = None) -> str:
    # never a synchronous docker call on the loop the page's server shares
    return await asyncio.to_thread(containers.run, name, cmd, labels=labels)


async def _started_at(api: docker.APIClient, name: str) -> str:
    info = await asyncio.to_thread(api.inspect_container, name)
    return str(info["State"]["StartedAt"])


async def _act_as(page: Any, user_id: str) -> None:
    await page.select_option("#person", user_id)
    await page.wait_for_function(f"document.getElementById('person').value === '{user_id}'")
    await page.wait_for_selector("#me-avatar[style*=background]", state="attached")


async def _type(page: Any, text: str, box: str = "#composer-input") -> None:
    await page.fill(box, text)
    await page.press(box, "Enter")


def _message(page: Any, text: str, within: str = "#messages") -> Any:
    return page.locator(f"{within} .message", has_text=text)


async def test_ps_then_a_protected_restart_approved_by_a_second_person_then_a_crash_in_alerts(
    playground: Playground, page: Any, containers: Containers, docker_api: docker.APIClient
) -> None:
    shots = _shots()
    web = await _run(containers, "pg-web", QUICK_STOP, labels={"dockbell.protected": "true"})
    before = await _started_at(docker_api, web)

    # 1. /docker ps as Oscar: the table, privately, with its Share button
    await _act_as(page, "U_OSCAR")
    await _type(page, f"/docker ps --filter name={web}")
    table = _message(page, "CONTAINER ID")
    await table.wait_for(timeout=WAIT_MS)
    assert await table.locator(".only-you").count() == 1
    assert web in await table.inner_text()
    await table.get_by_role("button", name="Share in channel").wait_for()
    await page.screenshot(path=str(shots / "playground-ps.png"))

    # 2. Oscar asks for a restart of a protected container: nothing restarts, a request is posted
    await _type(page, f"/docker restart -t 1 {web}")
    request = _message(page, "Approval needed")
    await request.wait_for(timeout=WAIT_MS)
    assert "Approvals: 0 of 1" in await request.inner_text()
    notice = _message(page, "needs approval")  # Oscar's private notice, linking to the request
    await notice.wait_for(timeout=WAIT_MS)
    await page.screenshot(path=str(shots / "playground-approval-asked.png"))
    await notice.get_by_role("link", name="the request").click()
    request_ts = await request.get_attribute("data-ts")
    await page.wait_for_function(f"document.body.dataset.jumpedTo === '{request_ts}'")
    assert await _started_at(docker_api, web) == before

    # 3. Adam approves: the request says so, the restart runs, its result lands in the thread
    await _act_as(page, "U_ADAM")
    request = _message(page, "Approval needed")
    await request.get_by_role("button", name="Approve").click()
    await _message(page, "Result: job").wait_for(timeout=WAIT_MS)
    await request.locator(".replies").click()
    thread = page.locator("#thread")
    await thread.wait_for(state="visible")
    await page.locator("#thread-messages .message", has_text="approved").first.wait_for(timeout=WAIT_MS)
    await page.screenshot(path=str(shots / "playground-approved.png"))
    assert await _started_at(docker_api, web) != before

    # 3b. in that thread a mention names no container: dockbell acts on the thread's own
    await _type(page, "@dockbell inspect -f '{{.State.Status}}'", box="#thread-input")
    await page.locator("#thread-messages .message", has_text="inspect -f").first.wait_for()
    answer = page.locator("#thread-messages .message", has_text="docker inspect")
    await answer.last.wait_for(timeout=WAIT_MS)
    assert "running" in await answer.last.inner_text()
    await page.click("#thread-close")

    # 4. A container that exits non-zero: a crash notification arrives in #alerts
    await page.click("[data-channel='C_ALERTS']")
    crashed = await _run(containers, "pg-crash", ["sh", "-c", "echo 'fatal: config not found' >&2; sleep 1; exit 3"])
    alert = _message(page, crashed)
    await alert.wait_for(timeout=WAIT_MS)
    text = await alert.inner_text()
    assert "3" in text
    await alert.get_by_role("button", name="Restart").wait_for()
    await page.screenshot(path=str(shots / "playground-alert.png"))


async def test_a_live_stream_stops_with_its_button(page: Any, containers: Containers) -> None:
    chatty = await _run(containers, "pg-chatty", ["sh", "-c", "while true; do echo tick; sleep 0.2; done"])
    await _act_as(page, "U_ALICE")
    await page.click("[data-channel='C_GENERAL']")
    await _type(page, f"/docker logs -f {chatty}")
    header = _message(page, "is following")
    await header.wait_for(timeout=WAIT_MS)
    await header.get_by_role("button", name="Stop").click()
    await _message(page, "stopped it").wait_for(timeout=WAIT_MS)
    assert await _message(page, "stopped it").get_by_role("button", name="Stop").count() == 0


MRKDWN_CASES = [
    # (Slack's text, the HTML the page makes of it)
    # a raw <...> is a control sequence in mrkdwn (apps escape their text): never HTML
    ("<script>alert(1)</script>", "scriptalert(1)/script"),
    ("<img src=x onerror=alert(1)>", "img src=x onerror=alert(1)"),
    ("&lt;b&gt; &amp; *bold* _it_ ~gone~", "&lt;b&gt; &amp; <b>bold</b> <i>it</i> <s>gone</s>"),
    ("`a *b* <c>` and ```x\n<y> *z*```", "<code>a *b* &lt;c&gt;</code> and <pre class=\"pre\">x\n&lt;y&gt; *z*</pre>"),
    ("<https://example.com/a?b=1&amp;c=2|docs>", '<a href="https://example.com/a?b=1&amp;c=2" target="_blank"'),
    ("<javascript:alert(1)|click>", "click"),
    ('<https://x.example/"onmouseover="alert(1)|x>', 'href="https://x.example/&quot;onmouseover=&quot;alert(1)"'),
    (
        "<https://fake.slack.com/archives/C_GENERAL/p1796157671000002|the request>",
        '<a href="#" data-permalink-channel="C_GENERAL" data-permalink-ts="1796157671.000002">the request</a>',
    ),
    ("<@U_ADAM> in <#C_ALERTS>", '<span class="mention">@adam</span> in <span class="mention">#alerts</span>'),
    ("<!here> <!subteam^S1|@ops>", '<span class="mention">@here</span> <span class="mention">@ops</span>'),
]


async def test_mrkdwn_is_escaped_and_formatted_like_slack(page: Any) -> None:
    for text, expected in MRKDWN_CASES:
        html = await page.evaluate(
            "(text) => Mrkdwn.render(text, {users: {U_ADAM: {name: 'adam'}}, channels: {C_ALERTS: 'alerts'}})", text
        )
        assert expected in html, f"{text!r} became {html!r}"
        assert "<script" not in html and "javascript:" not in html
