"""The approval state machine in a real Redis: each transition happens once, whatever arrives at the same time."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.core.types import Requester
from bot.jobs.approvals import ApprovalStore, Bound, Request, Seal, State
from tests.rig import RedisServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOW = 1_700_000_000.0


@pytest_asyncio.fixture(loop_scope="session")
async def store(redis_server: RedisServer) -> AsyncIterator[ApprovalStore]:
    client = aioredis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/8")
    await client.flushdb()
    yield ApprovalStore(client, Seal(b"s" * 32))
    await client.flushdb()
    await client.aclose()


def _request(approval_id: str, count: int = 1) -> Request:
    return Request(
        id=approval_id,
        host="local",
        requester=Requester("U_REQ", "C1"),
        response_url="https://hooks/x",
        text="restart api",
        shown="restart api",
        rule_ref="approvals[0]",
        rule_name="approvals[0]",
        approver_users=("U_A", "U_B", "U_C"),
        approver_groups=(),
        count=count,
        ttl_seconds=900,
        created_at=NOW,
        bound=(Bound("container", "api", "c" * 64, "sha256:" + "i" * 64),),
    )


async def _stored(store: ApprovalStore, approval_id: str, count: int = 1) -> Request:
    request = _request(approval_id, count)
    assert await store.claim(approval_id)
    assert await store.store(request, channel="C1", ts="1.000001")
    return request


async def test_a_request_is_created_once(store: ApprovalStore) -> None:
    assert await store.claim("a-0000000001")
    assert not await store.claim("a-0000000001")  # a retried delivery finds the first
    assert await store.get("a-0000000001") is None  # not visible until stored
    await store.store(_request("a-0000000001"), channel="C1", ts="1.000001")
    found = await store.get("a-0000000001")
    assert found is not None and found.state is State.PENDING and found.request == _request("a-0000000001")
    assert store.seal.problem(found, need_votes=False) is None
    assert [a.id for a in await store.pending()] == ["a-0000000001"]


async def test_simultaneous_approvals_approve_once_and_launch_once(store: ApprovalStore) -> None:
    await _stored(store, "a-0000000002")
    approval = await store.get("a-0000000002")
    assert approval is not None
    outcomes = await asyncio.gather(*(store.approve(approval, user, NOW + 1) for user in ("U_A", "U_B", "U_C", "U_A")))
    results = sorted(o.result for o in outcomes)
    assert results.count("approved") == 1, results  # the one that completed the count
    assert set(results) <= {"approved", "already", "closed:approved"}, results
    latest = await store.get("a-0000000002")
    assert latest is not None and latest.state is State.APPROVED and len(latest.votes) == 1
    assert store.seal.problem(latest, need_votes=True) is None
    launches = await asyncio.gather(*(store.launch("a-0000000002", NOW + 2) for _ in range(5)))
    assert launches.count(True) == 1
    assert (await store.get("a-0000000002")).state is State.RUNNING  # type: ignore[union-attr]


async def test_count_self_already_and_expiry(store: ApprovalStore) -> None:
    await _stored(store, "a-0000000003", count=2)
    approval = await store.get("a-0000000003")
    assert approval is not None
    assert (await store.approve(approval, "U_REQ", NOW + 1)).result == "self"
    assert (await store.approve(approval, "U_A", NOW + 1)).result == "counted"
    assert (await store.approve(approval, "U_A", NOW + 2)).result == "already"
    assert (await store.approve(approval, "U_B", NOW + 900)).result == "due"  # its ttl is over
    assert await store.close("a-0000000003", State.EXPIRED, now=NOW + 10, by="", due_only=True) == "not_due"
    assert await store.due(NOW + 900) == ["a-0000000003"]
    assert await store.close("a-0000000003", State.EXPIRED, now=NOW + 900, by="", due_only=True) == "ok"
    assert await store.close("a-0000000003", State.DENIED, now=NOW + 901, by="U_B") == "expired"
    assert await store.due(NOW + 2000) == []


async def test_deny_and_cancel_close_only_a_pending_request(store: ApprovalStore) -> None:
    await _stored(store, "a-0000000004")
    assert await store.close("a-0000000004", State.CANCELLED, now=NOW, by="U_A", requester_only=True) == "not_yours"
    assert await store.close("a-0000000004", State.DENIED, now=NOW, by="U_A", reason="no") == "ok"
    denied = await store.get("a-0000000004")
    assert denied is not None and denied.state is State.DENIED and denied.reason == "no" and denied.closed_by == "U_A"
    approval = dataclasses.replace(denied, state=State.PENDING)
    assert (await store.approve(approval, "U_B", NOW + 1)).result == "closed:denied"
    assert not await store.launch("a-0000000004", NOW + 2)
    assert await store.close("a-0000000005", State.DENIED, now=NOW, by="U_A") == "missing"
