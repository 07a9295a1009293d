"""The fake workspace: seed data (users, channels, user groups) and the message/file store.

Pure state with no HTTP in it, so the Web API methods and the response_url receiver share
one view of "what is in Slack now".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from .records import Channel, Ephemeral, Message, OpenView, Trigger, UploadedFile, User

SEED_USERS = (
    User("U_ALICE", "alice", real_name="Alice Admin", display_name="alice"),
    User("U_BOB", "bob", real_name="Bob Builder", display_name="bob"),
    User("U_CAROL", "carol", real_name="Carol Coder", display_name="carol"),
)
SEED_CHANNELS = (
    Channel("C_GENERAL", "general", bot_member=True),
    Channel("C_OPS", "ops", bot_member=True),
    Channel("C_OTHER", "other", bot_member=False),
)
SEED_USERGROUPS = {"S_OPS": ["U_BOB"]}


def ts_key(ts: str) -> tuple[int, ...]:
    """Sort key for ts strings; float() would lose the last digits of "1700000000.000001"."""
    return tuple(int(part) for part in ts.split("."))


class Workspace:
    """Everything the fake knows about one Slack workspace."""

    def __init__(self, team_id: str, clock: Callable[[], float]) -> None:
        self.team_id = team_id
        self.clock = clock
        self.users: dict[str, User] = {user.id: User(**vars(user)) for user in SEED_USERS}
        self.channels: dict[str, Channel] = {ch.id: Channel(**vars(ch)) for ch in SEED_CHANNELS}
        self.usergroups: dict[str, list[str]] = {gid: list(ids) for gid, ids in SEED_USERGROUPS.items()}
        self.messages: dict[str, list[Message]] = defaultdict(list)
        self.ephemerals: list[Ephemeral] = []
        self.deleted_messages: list[Message] = []
        self.files: dict[str, UploadedFile] = {}
        self.opened: set[str] = set()  # DMs / group DMs opened at run time (not seed data)
        self.triggers: dict[str, Trigger] = {}  # trigger_ids handed out with commands and clicks
        self.views: dict[str, OpenView] = {}  # modals opened with views.open
        self._last_ts = (0, 0)
        self._id_seq = 0

    # --- identifiers -------------------------------------------------------------------

    def next_ts(self) -> str:
        """A fresh message ts ``"<epoch>.<6 digits>"``, strictly increasing even on a frozen clock."""
        seconds, seq = self._last_ts
        now = int(self.clock())
        if now > seconds:
            seconds, seq = now, 0
        seq += 1
        if seq > 999_999:  # more than a million messages in one second: borrow the next second
            seconds, seq = seconds + 1, 1
        self._last_ts = (seconds, seq)
        return f"{seconds}.{seq:06d}"

    def issue_trigger(self, trigger_id: str, user: str) -> str:
        """Record a trigger_id sent to the app with an interaction by ``user`` (views.open checks it)."""
        self.triggers[trigger_id] = Trigger(user, self.clock())
        return trigger_id

    def new_id(self, prefix: str) -> str:
        """Slack-looking ids (``F0000000001``); sequential so failures are easy to read."""
        self._id_seq += 1
        return f"{prefix}{self._id_seq:010d}"

    # --- seed data ---------------------------------------------------------------------

    def add_user(self, user_id: str, name: str) -> User:
        user = User(user_id, name, real_name=name.title(), display_name=name)
        self.users[user_id] = user
        return user

    def add_channel(self, channel_id: str, name: str, member: bool = True) -> Channel:
        channel = Channel(channel_id, name, bot_member=member)
        self.channels[channel_id] = channel
        return channel

    def open_dm(self, user_id: str) -> tuple[Channel, bool]:
        """The bot's DM with ``user_id``; returns (channel, already_open)."""
        dm_id = "D" + user_id.removeprefix("U")
        existing = self.channels.get(dm_id)
        if existing is not None:
            return existing, True
        channel = Channel(dm_id, user_id, bot_member=True, members={user_id})
        self.channels[dm_id] = channel
        self.opened.add(dm_id)
        return channel, False

    def open_mpim(self, user_ids: list[str]) -> tuple[Channel, bool]:
        names = sorted(self.users[uid].name for uid in user_ids)
        name = "mpdm-" + "--".join(names) + "-1"
        for channel in self.channels.values():
            if channel.name == name:
                return channel, True
        channel = Channel(self.new_id("G"), name, bot_member=True, members=set(user_ids))
        self.channels[channel.id] = channel
        self.opened.add(channel.id)
        return channel, False

    def resolve_channel(self, ref: str) -> Channel | None:
        """Channel by id, by name (``ops`` / ``#ops``) or by user id (the bot's DM), like Slack."""
        if ref in self.channels:
            return self.channels[ref]
        if ref in self.users:
            return self.open_dm(ref)[0]
        name = ref.removeprefix("#")
        return next((ch for ch in self.channels.values() if ch.name == name), None)

    # --- messages ----------------------------------------------------------------------

    def find_message(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.messages.get(channel, []) if m.ts == ts), None)

    def find_ephemeral(self, ts: str) -> Ephemeral | None:
        return next((e for e in self.ephemerals if e.ts == ts and not e.deleted), None)

    def locate(self, ts: str) -> Message | Ephemeral | None:
        """Find a message or ephemeral by ts in any channel (ts values are unique in the fake)."""
        for messages in self.messages.values():
            for message in messages:
                if message.ts == ts:
                    return message
        return self.find_ephemeral(ts)

    def post(self, message: Message) -> Message:
        self.messages[message.channel].append(message)
        return message

    def delete(self, message: Message) -> None:
        self.messages[message.channel].remove(message)
        self.deleted_messages.append(message)

    def thread(self, channel: str, root_ts: str) -> list[Message]:
        """Parent first, then replies in ts order (what conversations.replies returns)."""
        in_thread = [m for m in self.messages.get(channel, []) if m.ts == root_ts or m.thread_ts == root_ts]
        return sorted(in_thread, key=lambda m: (m.ts != root_ts, ts_key(m.ts)))

    def clear_records(self) -> None:
        """Forget messages, files and opened DMs; keep users, channels and user groups."""
        for channel_id in self.opened:
            self.channels.pop(channel_id, None)
        self.opened.clear()
        self.messages.clear()
        self.ephemerals.clear()
        self.deleted_messages.clear()
        self.files.clear()
        self.triggers.clear()
        self.views.clear()
