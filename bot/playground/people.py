"""Who and where, in the playground: four people and three conversations.

The ids match config/playground-policy.yml, which gives each person a role.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.fakeslack import FakeSlack


@dataclass(frozen=True)
class Person:
    id: str
    name: str  # Slack's user name, what <@U..> shows as @name
    real_name: str
    role: str  # what the policy makes them, shown in the switcher
    colour: str  # the avatar's background


PEOPLE = (
    Person("U_ALICE", "alice", "Alice Admin", "admin", "#e01e5a"),
    Person("U_OSCAR", "oscar", "Oscar Operator", "operator", "#2eb67d"),
    Person("U_VERA", "vera", "Vera Viewer", "viewer", "#ecb22e"),
    Person("U_ADAM", "adam", "Adam Approver", "approver", "#36c5f0"),
)
GENERAL = "C_GENERAL"
ALERTS = "C_ALERTS"
CHANNELS = ((GENERAL, "general"), (ALERTS, "alerts"))
BOT_NAME = "dockbell"
# Slack's chat.postMessage limit: about one message a second per channel, with short bursts
# allowed. The playground applies it to its channels, so dockbell meets its 429s here too.
POST_RATE_PER_SECOND = 1.0
POST_BURST = 5


def seed(fake: FakeSlack) -> None:
    """Add the people and #alerts to the fake (#general is in its seed data)."""
    for person in PEOPLE:
        user = fake.add_user(person.id, person.name)
        user.real_name = person.real_name
        if person.role == "admin":
            user.is_admin = True
    for channel_id, name in CHANNELS:
        if channel_id not in fake.channels:
            fake.add_channel(channel_id, name)
        fake.rate_limit_channel(channel_id, POST_RATE_PER_SECOND, POST_BURST)
    bot = fake.users.get("U_BOT")
    if bot is None:
        bot = fake.add_user("U_BOT", BOT_NAME)
    bot.is_bot = True


def dm_channel(fake: FakeSlack, user_id: str) -> str:
    """The id of dockbell's DM with ``user_id`` (opened in the fake if it is not yet)."""
    return fake.workspace.open_dm(user_id)[0].id


def person(user_id: str) -> Person | None:
    return next((p for p in PEOPLE if p.id == user_id), None)
