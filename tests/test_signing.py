"""The rig's request signer against Slack's published test vector and slack_sdk's verifier."""

from __future__ import annotations

import time

from slack_sdk.signature import SignatureVerifier

from bot.fakeslack import sign, signed_headers

# Slack's "verifying requests" example (slack-platform.md §1.1 / §2.1)
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = 1531420618
BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXPECTED = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class FixedClock:
    """slack_sdk's verifier clock, pinned so the 2018 vector is not 'stale'."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_sign_matches_slacks_published_vector() -> None:
    assert sign(SECRET, TIMESTAMP, BODY) == EXPECTED


def test_sign_accepts_bytes_body_and_str_timestamp() -> None:
    assert sign(SECRET, str(TIMESTAMP), BODY.encode()) == EXPECTED


def test_sign_agrees_with_slack_sdk_generate_signature() -> None:
    verifier = SignatureVerifier(SECRET)
    body = "text=logs%20payload-service&user_id=U_ALICE"
    assert sign(SECRET, 1700000000, body) == verifier.generate_signature(timestamp="1700000000", body=body)


def test_vector_is_valid_for_slack_sdk_verifier() -> None:
    verifier = SignatureVerifier(SECRET, clock=FixedClock(TIMESTAMP + 10))  # type: ignore[arg-type]
    assert verifier.is_valid(BODY, str(TIMESTAMP), sign(SECRET, TIMESTAMP, BODY))


def test_signed_headers_pass_slack_sdk_request_verification() -> None:
    headers = signed_headers(SECRET, BODY)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert abs(int(headers["X-Slack-Request-Timestamp"]) - time.time()) < 5
    assert SignatureVerifier(SECRET).is_valid_request(BODY, headers)


def test_signed_headers_with_explicit_timestamp() -> None:
    headers = signed_headers(SECRET, BODY, timestamp=TIMESTAMP)
    assert headers["X-Slack-Request-Timestamp"] == str(TIMESTAMP)
    assert headers["X-Slack-Signature"] == EXPECTED


def test_stale_or_wrong_signatures_are_rejected_by_slack_sdk() -> None:
    verifier = SignatureVerifier(SECRET)
    stale = signed_headers(SECRET, BODY, timestamp=int(time.time()) - 301)
    wrong_secret = signed_headers(SECRET + "x", BODY)
    assert not verifier.is_valid_request(BODY, stale)
    assert not verifier.is_valid_request(BODY, wrong_secret)
