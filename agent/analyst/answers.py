"""What an OpenAI-compatible endpoint answered, read as untrusted data.

The SDK hands back a body that is not JSON as text (a proxy's HTML error page) and builds its
objects from JSON without validating them, so neither the shape nor the token counts are trusted.
"""

from __future__ import annotations

from typing import Any

# No single call reads or writes more tokens than this (the largest context windows are ~2M):
# a larger reported count is a broken or hostile `usage`, not a bill.
MAX_CALL_TOKENS = 10_000_000


def read_answer(response: Any) -> tuple[str, str, Any]:
    """(content, finish_reason, usage) of a chat completion; ValueError if it is not one.

    The SDK hands back the body as text when it is not JSON (an HTML error page from a proxy),
    and builds its objects from JSON without validating them: nothing here is trusted.
    """
    if isinstance(response, str | bytes):
        raise ValueError("a body that is not JSON (an HTML page from a proxy?)")
    not_one = ValueError("a JSON body that is not a chat completion")
    try:
        choices = response.choices
        if not isinstance(choices, list) or not choices:
            raise not_one
        content = choices[0].message.content or ""
        finish = choices[0].finish_reason or ""
        usage = getattr(response, "usage", None)
    except (AttributeError, TypeError, KeyError):
        raise not_one from None
    if not isinstance(content, str) or not isinstance(finish, str):
        raise not_one
    return content, finish, usage


def checked_usage(usage: Any) -> tuple[int, int]:
    """(prompt, completion) tokens the server reported; ValueError if they cannot be true."""
    counts = []
    for name in ("prompt_tokens", "completion_tokens"):
        value = getattr(usage, name, None)
        if value is None:
            value = 0
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} is not a number")
        if value != value or not 0 <= value <= MAX_CALL_TOKENS or value != int(value):
            raise ValueError(f"{name} = {value:g} is not a count from 0 to {MAX_CALL_TOKENS:,}")
        counts.append(int(value))
    return counts[0], counts[1]
