"""Block Kit validation for messages, with Slack's limits and Slack-style error strings.

slack_sdk only validates model objects, never raw dicts (slack-platform.md §4.1), so the fake
is the only place where an over-long section or a 51st block gets caught before production.
Errors look like Slack's: ``"must be less than 3001 characters [json-pointer:/blocks/0/text/text]"``.
The validator checks limits and required fields; it does not reject unknown properties.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_BLOCKS = 50
MAX_ID_LEN = 255
BUTTON_STYLES = frozenset({"primary", "danger"})
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})

# Interactive elements that may sit in an actions block (image is context/accessory only).
ACTION_ELEMENT_TYPES = frozenset(
    {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "overflow",
        "radio_buttons",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "timepicker",
        "workflow_button",
        "rich_text_input",
        "plain_text_input",
        "email_text_input",
        "number_input",
        "url_text_input",
        "file_input",
    }
)
ACCESSORY_TYPES = ACTION_ELEMENT_TYPES | {"image"}
OPTION_ELEMENT_LIMITS = {  # type -> (min options, max options)
    "static_select": (1, 100),
    "multi_static_select": (1, 100),
    "overflow": (1, 5),
    "checkboxes": (1, 10),
    "radio_buttons": (1, 10),
}
RICH_TEXT_ELEMENT_TYPES = frozenset(
    {"rich_text_section", "rich_text_list", "rich_text_preformatted", "rich_text_quote"}
)


@dataclass
class _Context:
    """Errors plus the ids seen so far; ids must be unique across the whole message."""

    errors: list[str] = field(default_factory=list)
    block_ids: set[str] = field(default_factory=set)
    action_ids: set[str] = field(default_factory=set)

    def error(self, pointer: str, message: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")


def validate_blocks(blocks: object) -> list[str]:
    """Validate a message's ``blocks``; return Slack-style errors (empty list when valid)."""
    ctx = _Context()
    if not isinstance(blocks, list):
        ctx.error("/blocks", "expected an array")
        return ctx.errors
    if len(blocks) > MAX_BLOCKS:
        ctx.error("/blocks", f"no more than {MAX_BLOCKS} items allowed")
    for index, block in enumerate(blocks):
        _validate_block(block, f"/blocks/{index}", ctx)
    return ctx.errors


# --- primitives -------------------------------------------------------------------------


def _check_len(value: str, pointer: str, ctx: _Context, max_len: int, min_len: int = 1) -> None:
    if len(value) > max_len:
        ctx.error(pointer, f"must be less than {max_len + 1} characters")
    if len(value) < min_len:
        ctx.error(pointer, f"must be more than {min_len - 1} characters")


def _string(
    obj: dict[str, Any], key: str, pointer: str, ctx: _Context, *, max_len: int, required: bool = False
) -> None:
    """Check an optional/required string property with a length cap."""
    value = obj.get(key)
    if value is None:
        if required:
            ctx.error(pointer, f"missing required field: {key}")
        return
    if not isinstance(value, str):
        ctx.error(f"{pointer}/{key}", "expected: string")
        return
    _check_len(value, f"{pointer}/{key}", ctx, max_len)


def _text_object(obj: object, pointer: str, ctx: _Context, *, max_len: int, plain_only: bool = False) -> None:
    """A composition text object: ``{"type": "plain_text"|"mrkdwn", "text": str}``."""
    if not isinstance(obj, dict):
        ctx.error(pointer, "must provide an object")
        return
    kind = obj.get("type")
    allowed = {"plain_text"} if plain_only else TEXT_TYPES
    if kind not in allowed:
        ctx.error(f"{pointer}/type", f"must be a valid enum value ({', '.join(sorted(allowed))})")
    text = obj.get("text")
    if not isinstance(text, str):
        ctx.error(pointer, "missing required field: text")
        return
    _check_len(text, f"{pointer}/text", ctx, max_len)


def _list(
    obj: dict[str, Any], key: str, pointer: str, ctx: _Context, *, max_items: int, min_items: int = 1
) -> list[Any]:
    """Return the list at ``obj[key]`` (or [] after recording why it is unusable)."""
    value = obj.get(key)
    if value is None:
        ctx.error(pointer, f"missing required field: {key}")
        return []
    if not isinstance(value, list):
        ctx.error(f"{pointer}/{key}", "expected an array")
        return []
    if len(value) > max_items:
        ctx.error(f"{pointer}/{key}", f"no more than {max_items} items allowed")
    if len(value) < min_items:
        ctx.error(f"{pointer}/{key}", f"must have at least {min_items} items")
    return value


def _unique_id(obj: dict[str, Any], key: str, pointer: str, ctx: _Context, seen: set[str]) -> None:
    value = obj.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        ctx.error(f"{pointer}/{key}", "expected: string")
        return
    _check_len(value, f"{pointer}/{key}", ctx, MAX_ID_LEN)
    if value in seen:
        ctx.error(f"{pointer}/{key}", f"duplicate {key}: {value}")
    seen.add(value)


# --- blocks -------------------------------------------------------------------------------


def _validate_block(block: object, pointer: str, ctx: _Context) -> None:
    if not isinstance(block, dict):
        ctx.error(pointer, "must provide an object")
        return
    kind = block.get("type")
    validator = _BLOCK_VALIDATORS.get(kind) if isinstance(kind, str) else None
    if validator is None:
        ctx.error(f"{pointer}/type", f"unsupported block type: {kind}")
        return
    _unique_id(block, "block_id", pointer, ctx, ctx.block_ids)
    validator(block, pointer, ctx)


def _section(block: dict[str, Any], pointer: str, ctx: _Context) -> None:
    if "text" not in block and "fields" not in block:
        ctx.error(pointer, "must provide either text or fields")
    if "text" in block:
        _text_object(block["text"], f"{pointer}/text", ctx, max_len=3000)
    if "fields" in block:
        for index, item in enumerate(_list(block, "fields", pointer, ctx, max_items=10)):
            _text_object(item, f"{pointer}/fields/{index}", ctx, max_len=2000)
    if "accessory" in block:
        _element(block["accessory"], f"{pointer}/accessory", ctx, ACCESSORY_TYPES)


def _header(block: dict[str, Any], pointer: str, ctx: _Context) -> None:
    _text_object(block.get("text"), f"{pointer}/text", ctx, max_len=150, plain_only=True)


def _context(block: dict[str, Any], pointer: str, ctx: _Context) -> None:
    for index, item in enumerate(_list(block, "elements", pointer, ctx, max_items=10)):
        item_pointer = f"{pointer}/elements/{index}"
        if isinstance(item, dict) and item.get("type") == "image":
            _image_element(item, item_pointer, ctx)
        else:
            _text_object(item, item_pointer, ctx, max_len=3000)


def _actions(block: dict[str, Any], pointer: str, ctx: _Context) -> None:
    for index, item in enumerate(_list(block, "elements", pointer, ctx, max_items=25)):
        _element(item, f"{pointer}/elements/{index}", ctx, ACTION_ELEMENT_TYPES)


def _divider(block: dict[str, Any], pointer: str, ctx: _Context) -> None:
    """Dividers carry nothing but type and block_id."""


def _image_block(block: dict[str, Any], pointer: str, ctx: _Context) -> None:
    _image_element(block, pointer, ctx)
    if "title" in block:
        _text_object(block["title"], f"{pointer}/title", ctx, max_len=2000, plain_only=True)


def _markdown(block: dict[str, Any], pointer: str, ctx: _Context) -> None:
    _string(block, "text", pointer, ctx, max_len=12000, required=True)


def _rich_text(block: dict[str, Any], pointer: str, ctx: _Context) -> None:
    for index, item in enumerate(_list(block, "elements", pointer, ctx, max_items=100)):
        if not isinstance(item, dict) or item.get("type") not in RICH_TEXT_ELEMENT_TYPES:
            ctx.error(f"{pointer}/elements/{index}", "must be a rich text element")


def _input(block: dict[str, Any], pointer: str, ctx: _Context) -> None:
    _text_object(block.get("label"), f"{pointer}/label", ctx, max_len=2000, plain_only=True)
    if "element" not in block:
        ctx.error(pointer, "missing required field: element")
        return
    _element(block["element"], f"{pointer}/element", ctx, ACTION_ELEMENT_TYPES)


def _required_fields(*keys: str) -> Callable[[dict[str, Any], str, _Context], None]:
    """Validator for block types we accept but only check for required fields (file, video)."""

    def check(block: dict[str, Any], pointer: str, ctx: _Context) -> None:
        for key in keys:
            if key not in block:
                ctx.error(pointer, f"missing required field: {key}")

    return check


_BLOCK_VALIDATORS: dict[str, Callable[[dict[str, Any], str, _Context], None]] = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
    "divider": _divider,
    "image": _image_block,
    "markdown": _markdown,
    "rich_text": _rich_text,
    "input": _input,
    "file": _required_fields("external_id", "source"),
    "video": _required_fields("title", "video_url", "thumbnail_url", "alt_text"),
}


# --- elements -----------------------------------------------------------------------------


def _element(element: object, pointer: str, ctx: _Context, allowed: frozenset[str]) -> None:
    if not isinstance(element, dict):
        ctx.error(pointer, "must provide an object")
        return
    kind = element.get("type")
    if kind not in allowed:
        ctx.error(f"{pointer}/type", f"unsupported element type: {kind}")
        return
    if kind == "image":
        _image_element(element, pointer, ctx)
        return
    _unique_id(element, "action_id", pointer, ctx, ctx.action_ids)
    if "confirm" in element:
        _confirm(element["confirm"], f"{pointer}/confirm", ctx)
    if kind == "button":
        _button(element, pointer, ctx)
    elif kind in OPTION_ELEMENT_LIMITS:
        low, high = OPTION_ELEMENT_LIMITS[kind]
        for index, option in enumerate(_list(element, "options", pointer, ctx, max_items=high, min_items=low)):
            _option(option, f"{pointer}/options/{index}", ctx)
    if "placeholder" in element:
        _text_object(element["placeholder"], f"{pointer}/placeholder", ctx, max_len=150, plain_only=True)


def _button(element: dict[str, Any], pointer: str, ctx: _Context) -> None:
    _text_object(element.get("text"), f"{pointer}/text", ctx, max_len=75, plain_only=True)
    _string(element, "value", pointer, ctx, max_len=2000)
    _string(element, "url", pointer, ctx, max_len=3000)
    _string(element, "accessibility_label", pointer, ctx, max_len=75)
    style = element.get("style")
    if style is not None and style not in BUTTON_STYLES:
        ctx.error(f"{pointer}/style", "must be a valid enum value (danger, primary)")


def _confirm(dialog: object, pointer: str, ctx: _Context) -> None:
    if not isinstance(dialog, dict):
        ctx.error(pointer, "must provide an object")
        return
    _text_object(dialog.get("title"), f"{pointer}/title", ctx, max_len=100, plain_only=True)
    _text_object(dialog.get("text"), f"{pointer}/text", ctx, max_len=300)
    _text_object(dialog.get("confirm"), f"{pointer}/confirm", ctx, max_len=30, plain_only=True)
    _text_object(dialog.get("deny"), f"{pointer}/deny", ctx, max_len=30, plain_only=True)
    style = dialog.get("style")
    if style is not None and style not in BUTTON_STYLES:
        ctx.error(f"{pointer}/style", "must be a valid enum value (danger, primary)")


def _option(option: object, pointer: str, ctx: _Context) -> None:
    if not isinstance(option, dict):
        ctx.error(pointer, "must provide an object")
        return
    _text_object(option.get("text"), f"{pointer}/text", ctx, max_len=75)
    _string(option, "value", pointer, ctx, max_len=150, required=True)


def _image_element(element: dict[str, Any], pointer: str, ctx: _Context) -> None:
    if "image_url" not in element and "slack_file" not in element:
        ctx.error(pointer, "must provide either image_url or slack_file")
    _string(element, "image_url", pointer, ctx, max_len=3000)
    _string(element, "alt_text", pointer, ctx, max_len=2000, required=True)
