"""The pure parts of approvals: the request message and modal (within Slack's limits), the binding check, seals."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.core.types import Requester
from bot.fakeslack import validate_blocks
from bot.fakeslack.webapi import ApiError, _check_view
from bot.jobs.approval_flow import changed
from bot.jobs.approval_pass import ApprovalRequired, ApprovedRun, approved_run, require_approval_pass
from bot.jobs.approval_preview import depends_on, names, published_ports, restart_policy
from bot.jobs.approvals import Approval, Bound, Request, Seal, State, Vote
from bot.policy import ApprovalRule, Decision, Who
from bot.slack import render_approvals as words

REQUESTER = Requester("U_REQ", "C_GENERAL")
PREVIEW = {
    "sections": [
        {
            "title": "container prod-api (3f2a1b0c9d8e)",
            "rows": [["image", "shop/api:1.4 (ab12cd34ef56, sha256:99)"], ["depend on it", "web (shop-web-1)"]],
        }
    ],
    "more": 0,
}


def _request(**over: Any) -> Request:
    base = Request(
        id="a-0123456789",
        host="local",
        requester=REQUESTER,
        response_url="https://hooks/x",
        text="restart prod-api",
        shown="restart prod-api",
        rule_ref="approvals[0]",
        rule_name="approvals[0] (protected)",
        approver_users=("U_ANN",),
        approver_groups=("S0OPS",),
        count=2,
        ttl_seconds=900,
        created_at=1_700_000_000.0,
        bound=(Bound("container", "prod-api", "c" * 64, "sha256:" + "i" * 64),),
        preview=PREVIEW,
    )
    return dataclasses.replace(base, **over)


def _approval(state: State = State.PENDING, **over: Any) -> Approval:
    return Approval(_request(), "", state, channel="C_GENERAL", ts="1700000000.000100", **over)


@pytest.mark.parametrize(
    ("state", "extra", "says"),
    [
        (State.PENDING, {}, "Approvals: 0 of 2"),
        (State.APPROVED, {"votes": (Vote("U_A", "1700000100.0", ""), Vote("U_B", "1700000101.0", ""))}, "starting it"),
        (State.DENIED, {"closed_by": "U_A", "reason": "not <now> & not today"}, "not &lt;now&gt; &amp; not today"),
        (State.EXPIRED, {}, "Expired after 15m: nothing ran."),
        (State.CANCELLED, {"closed_by": "U_REQ"}, "Withdrawn by <@U_REQ>"),
        (State.VOID, {"reason": "container prod-api was recreated"}, "Void: container prod-api was recreated"),
        (State.DONE, {"result": "It ran; its answer went to <@U_REQ> privately."}, "its answer went to <@U_REQ>"),
    ],
)
def test_the_request_message_in_each_state_is_valid_block_kit(state: State, extra: dict[str, Any], says: str) -> None:
    message = words.request_message(_approval(state, **extra), now=1_700_000_060.0)
    assert validate_blocks(message["blocks"]) == []
    text = str(message)
    assert says in text
    assert ("dockbell_approve" in text) == (state is State.PENDING)  # buttons only while it waits
    assert "web (shop-web-1)" in text and "<@U_REQ> asked to run `docker restart prod-api` on `local`" in text
    assert "<!subteam^S0OPS> or <@U_ANN>" in text and "2 approvals by different people" in text


def test_a_huge_command_and_preview_stay_within_slacks_limits() -> None:
    long = "restart " + "x&<" * 3000
    rows = [[f"row{i}", "y" * 500] for i in range(50)]
    approval = Approval(
        _request(shown=long, preview={"sections": [{"title": "t", "rows": rows}]}), "", State.PENDING, ts="1.2"
    )
    message = words.request_message(approval, now=1_700_000_000.0)
    assert validate_blocks(message["blocks"]) == []
    assert len(message["text"]) <= 4000


def test_the_deny_modal_is_a_valid_view_and_its_reason_is_read_back() -> None:
    view = words.deny_modal(_approval())
    assert _check_view(view) is view
    assert view["private_metadata"] == "local/a-0123456789"
    submitted = {"state": {"values": {words.REASON_BLOCK: {words.REASON_ACTION: {"value": "  not now "}}}}}
    assert words.reason_from(submitted) == "not now"
    assert words.reason_from({"state": {"values": {}}}) == ""


def test_the_fake_refuses_a_modal_slack_would_refuse() -> None:
    view = {**words.deny_modal(_approval()), "title": {"type": "plain_text", "text": "x" * 25}}
    with pytest.raises(ApiError) as err:
        _check_view(view)
    assert err.value.code == "invalid_arguments"
    without_submit = {k: v for k, v in words.deny_modal(_approval()).items() if k != "submit"}
    with pytest.raises(ApiError):
        _check_view(without_submit)


@pytest.mark.parametrize(
    ("seconds", "text"), [(900, "15m"), (3600, "1h"), (5400, "1h30m"), (45, "45s"), (0, "0s"), (3725, "1h2m5s")]
)
def test_ttl_words(seconds: float, text: str) -> None:
    assert words.ttl_words(seconds) == text


def test_preview_rows_are_aligned_per_target() -> None:
    assert words.preview_text(PREVIEW).split("\n") == [
        "container prod-api (3f2a1b0c9d8e)",
        "  image         shop/api:1.4 (ab12cd34ef56, sha256:99)",
        "  depend on it  web (shop-web-1)",
    ]


def test_a_binding_holds_only_for_the_same_objects() -> None:
    bound = Bound("container", "api", "a" * 64, "sha256:" + "1" * 64)
    assert changed(bound, bound) is None
    recreated = changed(bound, dataclasses.replace(bound, id="b" * 64))
    assert recreated == "container api was recreated or replaced (aaaaaaaaaaaa is now bbbbbbbbbbbb)"
    assert changed(bound, dataclasses.replace(bound, id="")) == "container api (aaaaaaaaaaaa) no longer exists"
    assert "has another image now" in str(changed(bound, dataclasses.replace(bound, image_id="sha256:" + "2" * 64)))
    appeared = changed(dataclasses.replace(bound, id=""), bound)
    assert appeared == "container api exists now, and did not when it was asked for"
    volume = Bound("volume", "data", "data", created="2024-01-01T00:00:00Z")
    assert changed(volume, dataclasses.replace(volume, created="2024-02-01T00:00:00Z")) == "volume data was recreated"


def test_compose_depends_on_label_and_the_container_facts() -> None:
    assert depends_on({"com.docker.compose.depends_on": "db:service_started:false,cache:service_healthy:true"}) == [
        "db",
        "cache",
    ]
    assert depends_on({}) == []
    ports = {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": None}
    assert published_ports(ports) == ["0.0.0.0:8080->80/tcp"]
    assert restart_policy({"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}}) == "on-failure:3"
    assert restart_policy({}) == "no"
    assert names([f"c{i}" for i in range(10)]) == "c0, c1, c2, c3, c4, c5, c6, c7 and 2 more"
    assert names([]) == "none"


def test_a_seal_catches_altered_requests_and_forged_votes() -> None:
    seal = Seal(b"k" * 32)
    request = _request()
    at = "1700000100.0"
    votes = (Vote("U_A", at, seal.vote(request.id, "U_A", at)), Vote("U_B", at, seal.vote(request.id, "U_B", at)))
    good = Approval(request, seal.sign(request), State.APPROVED, votes)
    assert seal.problem(good, need_votes=True) is None
    altered = dataclasses.replace(good, request=dataclasses.replace(request, text="rm -f prod-api"))
    assert "does not match its signature" in str(seal.problem(altered, need_votes=False))
    forged = dataclasses.replace(good, votes=(votes[0], Vote("U_C", at, "v1=" + "0" * 64)))
    assert "an approval in its record does not match" in str(seal.problem(forged, need_votes=True))
    twice = dataclasses.replace(good, votes=(votes[0], votes[0]))
    assert "1 valid approval(s) of the 2" in str(seal.problem(twice, need_votes=True))
    own = Vote("U_REQ", at, seal.vote(request.id, "U_REQ", at))
    mine = dataclasses.replace(good, votes=(own,))
    assert "requester is among its approvers" in str(seal.problem(mine, need_votes=True))
    assert Seal(b"other" * 8).problem(good, need_votes=False) is not None


def test_request_fields_round_trip() -> None:
    request = _request()
    fields = request.to_fields()
    assert Request.from_fields(fields) == request
    assert fields["requester_id"] == "U_REQ" and fields["count_n"] == "2"


def _decision(rule: ApprovalRule | None) -> Decision:
    return Decision(True, "role operator", "", None, rule, ("operator",))


def test_the_net_under_the_hook_passes_only_the_approved_run_of_that_rule() -> None:
    rule = ApprovalRule(0, frozenset({"restart"}), Who(users=frozenset({"U_A"})))
    require_approval_pass([_decision(None)])
    with pytest.raises(ApprovalRequired):
        require_approval_pass([_decision(rule)])
    with approved_run(ApprovedRun("a-0123456789", "approvals[0]", "1.2", ("U_A",))):
        require_approval_pass([_decision(rule)])
    with approved_run(ApprovedRun("a-0123456789", "approvals[1]", "1.2", ("U_A",))), pytest.raises(ApprovalRequired):
        require_approval_pass([_decision(rule)])
    with pytest.raises(ApprovalRequired):
        require_approval_pass([_decision(rule)])  # the pass ended with its run
