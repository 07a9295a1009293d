"""Prometheus metrics, one registry per process (serve and each worker expose their own).

prometheus_client does the locking and the label escaping, which a hand-written
exposition got wrong (a scrape during an update could raise; newlines in label values
were not escaped).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import exposition as _exposition

CONTENT_TYPE = _exposition.CONTENT_TYPE_LATEST


class Metrics:
    """What serve and the workers count.  Serve counts what it receives; workers what they answer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.received = Counter(
            "dockbell_received", "Slack requests received by serve, by kind", ["kind"], registry=self.registry
        )
        self.enqueue_refused = Counter(
            "dockbell_enqueue_refused",
            "Requests serve answered itself instead of enqueuing, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.commands = Counter(
            "dockbell_commands",
            "Commands answered, by command and outcome",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.command_seconds = Histogram(
            "dockbell_command_seconds",
            "Time from the worker taking a command to its answer delivered",
            ["command"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.slack_errors = Counter(
            "dockbell_slack_errors", "Failed Slack API calls, by method", ["method"], registry=self.registry
        )
        self.rejected_entries = Counter(
            "dockbell_rejected_entries",
            "Queue entries a worker refused to run (unsigned, altered, expired)",
            registry=self.registry,
        )
        self.health_failures = Counter(
            "dockbell_health_failures",
            "Readiness checks that found a dependency down, by dependency",
            ["dependency"],
            registry=self.registry,
        )

    def expose(self) -> bytes:
        return generate_latest(self.registry)
