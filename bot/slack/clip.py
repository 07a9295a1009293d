"""Cutting text to Block Kit's limits, measured the way Slack may measure them, after escaping.

Slack refuses a whole message (``invalid_blocks``) when one text is one character too
long, and then the person who typed the command gets nothing.  Everything the bot puts in
a block that a user could make long (the echoed command, an error naming what was typed,
a job's command, a file name) goes through here first.

Two rules make a cut safe:

* Limits count the text Slack receives, so the escaped form is what must fit: ``&``
  becomes ``&amp;`` (5), ``<`` and ``>`` four each, and inside a code block each
  ````` ``` ````` gains a zero-width space.  Plain text is cut *before* escaping, so an
  entity is never cut in half; already-escaped mrkdwn is cut only outside an entity or a
  ``<...>`` link or mention.
* Whether Slack counts code points or UTF-16 units (as JavaScript does) is not documented;
  we count UTF-16 units, never fewer than code points, so a text that fits here fits either
  way.  A cut falls between code points, and never between the halves of a surrogate pair.

A cut is marked with "…", inside the limit.
"""

from __future__ import annotations

SECTION_TEXT = 3000  # section block text
CONTEXT_TEXT = 3000  # a context block's mrkdwn element
HEADER_TEXT = 150
BUTTON_VALUE = 2000
# The message's top-level ``text`` (notification fallback): chat.update refuses more than
# 4,000 characters (msg_too_long); response_url and chat.postMessage truncate at 40,000.
MESSAGE_TEXT = 4000
# A file upload's initial comment: no documented limit; a message's is safe.
FILE_COMMENT = 4000

ELLIPSIS = "\u2026"
_FENCE = "```"
_CODE_EXTRA = {"&": 4, "<": 3, ">": 3}  # what escaping adds, per character


def units(text: str) -> int:
    """Length in UTF-16 code units: an astral character (most emoji) counts two."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def escaped_units(text: str, *, code: bool = False) -> int:
    """The length of ``text`` once escaped for mrkdwn (and defused for a code block if ``code``)."""
    extra = 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))
    if code:
        extra += text.count(_FENCE)  # an upper bound: the count of non-overlapping fences
    return units(text) + extra


def width(char: str, *, code: bool = False) -> int:
    """What one character of plain text costs once escaped (a backtick in a code block: 2, an upper bound)."""
    return (2 if ord(char) > 0xFFFF else 1) + _CODE_EXTRA.get(char, 0) + (1 if code and char == "`" else 0)


def plain(text: str, budget: int, *, code: bool = False) -> str:
    """The longest start of plain ``text`` whose escaped form fits ``budget``, "…" marking a cut.

    Returns unescaped text: escape it as usual.  ``code``: it goes inside a code block,
    where each fence gains a zero-width space (counted here as one more unit per backtick).
    """
    if escaped_units(text, code=code) <= budget:
        return text
    room = budget - units(ELLIPSIS)
    used = 0
    cut = 0
    for char in text:  # stops at the budget: a few thousand steps whatever the length
        cost = width(char, code=code)
        if used + cost > room:
            break
        used += cost
        cut += 1
    return _whole_pairs(text, cut) + ELLIPSIS


def mrkdwn(text: str, budget: int) -> str:
    """Already-escaped mrkdwn cut to ``budget``: never inside ``&amp;`` or ``<@U…>``, fences closed."""
    if units(text) <= budget:
        return text
    head = _mrkdwn_head(text, budget - units(ELLIPSIS))
    if head.count(_FENCE) % 2 == 0:
        return head + ELLIPSIS
    closing = f"{ELLIPSIS}\n{_FENCE}"  # the cut is inside a code block: close it
    head = _mrkdwn_head(text, budget - units(closing))
    return head + (closing if head.count(_FENCE) % 2 else ELLIPSIS)


def _mrkdwn_head(text: str, room: int) -> str:
    used = 0
    cut = 0
    for char in text:  # stops at the budget
        cost = 2 if ord(char) > 0xFFFF else 1
        if used + cost > room:
            break
        used += cost
        cut += 1
    amp = text.rfind("&", max(0, cut - 8), cut)  # entities are short: &amp; &lt; &#8230;
    if amp >= 0 and ";" not in text[amp:cut]:
        cut = amp
    angle = text.rfind("<", 0, cut)
    if angle >= 0 and ">" not in text[angle:cut]:
        cut = angle
    return _whole_pairs(text, cut)


def fenced_body(text: str, budget: int) -> str:
    """Plain ``text`` cut so that a code block holding it fits ``budget`` (fences included)."""
    return plain(text, budget - len(_FENCE + "\n\n" + _FENCE), code=True)


def fenced_tail(text: str, budget: int) -> str:
    """Like :func:`fenced_body`, but keeping the end of ``text`` ("…" marking the cut at the start)."""
    room = budget - len(_FENCE + "\n\n" + _FENCE)
    if escaped_units(text, code=True) <= room:
        return text
    # Cutting the reversed text keeps its end; a reversed surrogate pair is no concern, as
    # Python strings hold whole code points (the pair check only guards lone surrogates).
    return plain(text[::-1], room, code=True)[::-1]


def _whole_pairs(text: str, cut: int) -> str:
    """``text[:cut]``, one shorter if that would end on the first half of a surrogate pair."""
    if cut and 0xD800 <= ord(text[cut - 1]) <= 0xDBFF:
        cut -= 1
    return text[:cut]
