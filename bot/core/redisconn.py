"""How dockbell connects to Redis (one place for the timeouts), and how it words a failure.

REDIS_URL carries everything else, in redis-py's URL form:
  redis://:PASSWORD@host:6379/0                      a password (percent-encode @ : / in it)
  redis://USER:PASSWORD@host:6379/0                  an ACL user
  rediss://:PASSWORD@host:6380/0?ssl_ca_certs=/run/secrets/redis-ca.pem
                                                     TLS; the certificate is verified by default
  ...&ssl_certfile=/path/client.pem&ssl_keyfile=/path/client.key   mutual TLS
"""

from __future__ import annotations

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def redis_client(url: str) -> aioredis.Redis:
    # Short timeouts: a Redis outage must turn into a clear message, not a stuck command.
    # socket_timeout stays above the worker's 1 s blocking read.  One immediate retry on a
    # connection error: after Redis restarts, every pooled connection is dead, and without it
    # the first command on each fails ("Connection closed by server") although Redis is back
    # (from_url's clients get no retry from redis-py).  Not on a timeout: that would double
    # the wait on a Redis that hangs.  The queue's scripts are safe to run twice.
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        retry_on_timeout=False,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
    )


def describe_failure(err: BaseException) -> str:
    """What went wrong, in words an operator can act on; redis-py's own text where it is clear.

    redis-py's wording for a missing password depends on the protocol it negotiates (RESP3's
    HELLO says "HELLO must be called with the client already authenticated ..."), and a
    certificate that is not trusted surfaces as a bare SSL error.
    """
    text = str(err)
    if isinstance(err, redis.exceptions.AuthenticationError):
        if "invalid username-password pair" in text or "WRONGPASS" in text:
            return "Redis refused the password in REDIS_URL (invalid username-password pair)"
        return "Redis wants a password and REDIS_URL has none (redis://:PASSWORD@host:6379/0)"
    if isinstance(err, redis.exceptions.ResponseError) and text.startswith("NOAUTH"):
        return "Redis wants a password and REDIS_URL has none (redis://:PASSWORD@host:6379/0)"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return f"Redis's TLS certificate is not trusted (give its CA as ?ssl_ca_certs=/path/ca.pem): {text}"
    return text
