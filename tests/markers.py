"""Every test gets exactly one of the markers unit, integration or e2e, by what it needs.

README promises that ``pytest -m unit`` runs anywhere, without root, Docker or Redis, in
seconds.  Marking by hand drifts, so conftest.py runs ``pytest_collection_modifyitems``
below, which decides from what a test needs:

* e2e: tests/test_e2e_*.py, signed requests through serve and a worker;
* integration: a test whose fixtures (transitively) start or reach a real service, or one a
  module or test marks so because its services are not visible from fixtures (it starts a
  redis-server, a subprocess, a Bolt app on a port in its own body);
* unit: everything else.

An explicit marker (the test's, its class's or its module's) wins over the guess.  It is a
collection error for a test to carry two levels, or to be marked ``unit`` while asking for a
service fixture: a wrong marker cannot slip a service into the unit set.
"""

from __future__ import annotations

import pytest

LEVELS = ("unit", "integration", "e2e")

# Fixtures that start or reach something real: redis-server, dockerd, a second engine, a
# registry, the fake Slack's HTTP server, the bot itself.  item.fixturenames is the whole
# closure, so a test's own fixture built on one of these counts too.
SERVICE_FIXTURES = frozenset(
    {
        "redis_server",
        "queue_redis_server",
        "own_server",
        "docker_api",
        "containers",
        "fake_slack",
        "module_fake",
        "bot",
        "slack",
        "second_engine",
        "second",
        "rig_registry",
        "registry",
    }
)


def _guess(item: pytest.Item) -> str:
    if item.path.name.startswith("test_e2e_"):
        return "e2e"
    if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return "integration"
    return "unit"


def _explicit(item: pytest.Item) -> str | None:
    levels = {mark.name for mark in item.iter_markers() if mark.name in LEVELS}
    if len(levels) > 1:
        # -m matches any marker on the test, module's included: two levels would put it in both sets.
        raise pytest.UsageError(f"{item.nodeid}: marked {' and '.join(sorted(levels))}; one level per test")
    return levels.pop() if levels else None


@pytest.hookimpl(tryfirst=True)  # before -m deselects: the markers must be there when it looks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        explicit = _explicit(item)
        guess = _guess(item)
        if explicit == "unit" and guess != "unit":
            services = sorted(SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())))
            raise pytest.UsageError(f"{item.nodeid}: marked unit but needs {', '.join(services) or 'the e2e rig'}")
        if explicit is None:
            item.add_marker(guess)
