"""Untrusted text made safe to show: one home for the rules every output shares.

- `strip_controls`: no terminal escape sequence, control, zero-width or bidi character.
- `clean_text` / `shorten`: one line, bounded, cut with "…".
- `escape_md`: inert Markdown that still reads well raw (only what would change the rendering,
  make HTML or make a link is escaped; bare URLs become code spans, which GitHub never links).
- `hide_userinfo` / `hide_password`: credentials in URLs never shown.
- `latex_to_text`: arXiv's LaTeX-flavoured titles and abstracts as plain Unicode (once, at
  ingestion; idempotent, so stored papers can be converted again when shown).
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Any

from agent.models import Paper

# Terminal escapes first (stripping only ESC would leave "[31m" behind), then every control
# character, zero-width and bidi override: none of them belongs in a note or on a terminal.
# Whole escape sequences, 7-bit (ESC [) or 8-bit (0x9b) forms: CSI with its parameters; OSC,
# DCS, SOS, PM and APC strings up to their terminator; any other ESC with its final byte.
ANSI = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
ZERO_WIDTH_AND_BIDI = "\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
INVISIBLE = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{ZERO_WIDTH_AND_BIDI}]")
# json.dumps escapes C0 controls only; these would still reach a terminal through JSON.
_INVISIBLE_IN_JSON = re.compile(rf"[\x7f-\x9f{ZERO_WIDTH_AND_BIDI}]")
_WHITESPACE = re.compile(r"[\s\u2028\u2029]+")


def strip_controls(text: str) -> str:
    """Text safe for a terminal or a note: no escape sequences, control, zero-width or bidi
    characters; newlines and tabs stay."""
    return INVISIBLE.sub("", ANSI.sub("", text.replace("\r\n", "\n")))


def escape_invisible(text: str) -> str:
    """C1, zero-width and bidi characters written as \\uXXXX (for JSON already dumped)."""
    return _INVISIBLE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def shorten(text: str, limit: int) -> str:
    """Whitespace collapsed, cut at `limit` characters with "…"."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def plural(count: int, noun: str) -> str:
    """'1 paper', '3 papers', '1,500 papers'."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def cut(text: str, limit: int = 300) -> str:
    """`text` cut to `limit` characters, saying how many were left out (for logs and errors)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def clean_text(value: Any, limit: int | None = None) -> str:
    """One line of plain text: no terminal escapes or control characters, whitespace collapsed."""
    text = strip_controls("" if value is None else str(value))
    text = _WHITESPACE.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    return text


# --- URLs with credentials ---------------------------------------------------------------------

_USERINFO = re.compile(r"://[^/\s@]+@")
_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^/\s]*@")


def hide_userinfo(text: str) -> str:
    """Every URL's userinfo ("user:pass@") shown as ***@, wherever it appears in the text."""
    return _USERINFO.sub("://***@", text)


def hide_password(url: str) -> str:
    """The URL with the password of its userinfo shown as ***, even when it does not parse."""
    return _PASSWORD.sub(r"\1***@", url)


class LazyPattern:
    """A regular expression compiled on first use: the Markdown and LaTeX patterns below serve
    notes and ingestion, and compiling them cost every command (`status` too) a few ms. Each
    attribute asked for is the compiled pattern's, kept on the instance after the first time."""

    def __init__(self, pattern: str) -> None:
        self._source = pattern

    def __getattr__(self, name: str) -> Any:
        value = getattr(re.compile(self._source), name)
        setattr(self, name, value)
        return value


def lazy_pattern(pattern: str) -> re.Pattern[str]:
    return LazyPattern(pattern)  # type: ignore[return-value]  # behaves as one


# --- Markdown ----------------------------------------------------------------------------------

# Bare URLs (GitHub autolinks "https://…" and "www.…"): shown as code spans, never as links.
_URL = lazy_pattern(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>`]*[^\s<>`.,;:!?)\]'\"*_~]")
_ALWAYS = {"\\": "\\\\", "`": "\\`", "*": "\\*", "|": "\\|"}
_INLINE = lazy_pattern(
    r"&(?=#?\w+;)"  # an entity reference ("&lt;") would render as its character
    r"|<(?=[A-Za-z/!?])"  # an HTML tag, comment or autolink
    r"|\\(?=[!-/:-@\[-`{-~])"  # a backslash that would escape the next character
    r"|[`*|]"  # code spans, emphasis, table cells
    r"|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])"  # emphasis; "base_url" is safe as it is
    r"|~(?=~)|(?<=~)~"  # strikethrough ("~~"); "~10%" is safe
    r"|(?<=!)\[|\](?=\[)"  # images and reference links: "![", "]["
    r"|\]\("  # an inline link; escaping both keeps a link's shape out of a plain-text search
    r"|(?<=[A-Za-z0-9._+-])@(?=[A-Za-z0-9-]+\.)"  # an e-mail address GitHub would link
)
# What would start a heading, list, quote, rule, setext underline, task box or footnote
# definition if the text began a line.
_BLOCK_START = lazy_pattern(r"^(?:(\d{1,9})([.)])(?=\s|$)|()([#>\[]|[-+=](?=[-+=\s]|$)))")


def _escape_inline(text: str) -> str:
    def escape(match: re.Match[str]) -> str:
        char = match.group(0)
        if char == "](":
            return "\\]\\("
        return {"&": "&amp;", "<": "&lt;"}.get(char) or _ALWAYS.get(char) or "\\" + char

    return _INLINE.sub(escape, text)


def escape_md(value: Any, limit: int | None = 600) -> str:
    """Untrusted text as inert Markdown: no HTML, links, images, emphasis or block syntax,
    escaping only the characters that would otherwise change the rendering."""
    text = clean_text(value, limit)
    parts = []
    last = 0
    for url in _URL.finditer(text):
        parts.append(_escape_inline(text[last : url.start()]))
        parts.append(f"`{url.group(0)}`")
        last = url.end()
    parts.append(_escape_inline(text[last:]))
    return _BLOCK_START.sub(block_escape, "".join(parts))


def block_escape(match: re.Match[str]) -> str:
    """Escape the marker of "# x", "- x", "1. x", "> x", "[x]: …" (after digits only "." and
    ")" count)."""
    digits, number_mark, _, mark = match.groups()
    return f"{digits}\\{number_mark}" if digits else f"\\{mark}"


# --- LaTeX -------------------------------------------------------------------------------------

# LaTeX in running text, one construct at a time (pylatexenc on a whole abstract is ~25 ms; on
# its few LaTeX spans it is well under 1 ms): math, a macro with its arguments, an accent, an
# escaped character, a brace group holding a macro, TeX quotes, a tie.
_SPAN = lazy_pattern(
    r"\\\\"  # a forced line break
    r"|(?<!\\)\$(?:[^$\\]|\\.)+\$"
    r"|\\href\{(?P<href>[^{}]*)\}\{(?P<label>(?:[^{}]|\{[^{}]*\})*)\}"
    r"|\\url\{(?P<url>[^{}]*)\}"
    r"|\\[A-Za-z]+\*?(?:\[[^\]]*\])*(?:\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\})*"
    r"|\\['\"^`~=.](?:[A-Za-z]|\{[A-Za-z]\})"
    r"|\\[%&#_${}~ ,;!]"
    r"|\{[^{}]*\\[^{}]*\}"
    r"|``|''|~"
)
_QUICK = {"\\\\": " ", "``": "\u201c", "''": "\u201d", "\\ ": " ", "\\,": " ", "\\;": " ",
          "\\!": ""}  # fmt: skip
_APPROX_AFTER = lazy_pattern(r"\s?[\d.]")  # "~10%" is "about 10%", not a tie
_BARE_SPECIAL = lazy_pattern(r"(?<!\\)([%&#])")  # comment, alignment tab, parameter in LaTeX
_SIMPLE_MATH = lazy_pattern(
    r"(?:[^\W_]|[\s+\-=<>()/|.,:;!*'%]|\\[A-Za-z]+|\\[%,;!]"
    r"|\\(?:text\w*|math(?:rm|bf|it|sf|tt))\{[^{}\\]*\})*"  # "$\textbf{ELaTTA}$"
)
_DOLLAR = lazy_pattern(r"(?<!\\)\$")
_MACRO = lazy_pattern(r"\\[A-Za-z]+")
_STYLE_NAME = lazy_pattern(r"\\(?:text\w*|math(?:rm|bf|it|sf|tt))$")
_STYLE = lazy_pattern(r"\\(?:textbf|textit|emph|texttt|textsc|textrm|textsf|underline)\{([^{}]*)\}")


@lru_cache(maxsize=1)
def _converter() -> tuple[Any, Any]:
    from pylatexenc import latexwalker
    from pylatexenc.latex2text import LatexNodes2Text

    converter = LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=False)
    return converter, latexwalker.get_default_latex_context_db()


def _macro_text(macro: str) -> str:
    """A macro's Unicode form ("\\alpha" -> "α"), or "" when it has none."""
    text = _pylatexenc(macro).strip()
    return "" if "\\" in text else text


def _math_text(span: str) -> str:
    """Math as text when every piece of it has a plain form ("$-$" -> "-"), else `$…$` as is."""
    inner = span[1:-1]
    if not _SIMPLE_MATH.fullmatch(inner) or not all(
        _macro_text(m) for m in _MACRO.findall(inner) if not _STYLE_NAME.match(m)
    ):
        return span
    return latex_to_text(inner).strip()


def latex_to_text(value: str) -> str:
    """arXiv's LaTeX as Unicode: "19\\% to 33\\%" -> "19% to 33%", "``x''" -> "“x”",
    "$-$23.9" -> "-23.9", "$\\alpha$" -> "α"; math without a plain form stays `$…$`.
    Idempotent: converting converted text changes nothing."""
    if not _has_latex(value):
        return value
    text = value
    if len(_DOLLAR.findall(text)) % 2:  # an unpaired "$" is a dollar sign, not math
        text = _DOLLAR.sub(r"\\$", text)
    return _SPAN.sub(lambda m: _span_text(m, text), text).replace("\xa0", " ")


def _has_latex(value: str) -> bool:
    """A fast first look (most titles and author names have no LaTeX at all)."""
    return bool(value) and any(mark in value for mark in ("\\", "$", "~", "``", "''"))


def _span_text(match: re.Match[str], text: str) -> str:
    span = match.group(0)
    if span in ("~", "\\~"):  # a tie, or "about" before a number
        return "~" if _APPROX_AFTER.match(text, match.end()) else " "
    if span in _QUICK:
        return _QUICK[span]
    if len(span) == 2 and span[0] == "\\" and span[1] in "%&#_${}":
        return span[1]
    if match.group("url") is not None:
        return match.group("url")
    if match.group("href") is not None:
        label = latex_to_text(match.group("label"))
        return label if label == match.group("href") else f"{label} ({match.group('href')})"
    if span.startswith("$"):
        return _math_text(span)
    styled = _STYLE.fullmatch(span)
    if styled:
        return latex_to_text(styled.group(1))
    return _pylatexenc(span)


@lru_cache(maxsize=4096)
def _pylatexenc(span: str) -> str:
    converter, context = _converter()
    try:
        return str(converter.latex_to_text(_BARE_SPECIAL.sub(r"\\\1", span), latex_context=context))
    except Exception:  # noqa: BLE001 - pylatexenc may fail on odd input: keep the source
        return span


def plain_paper(paper: Paper) -> Paper:
    """The paper with its title, abstract, comment and authors as plain Unicode (ingestion)."""
    fields = (paper.title, paper.abstract, paper.comment, *paper.authors)
    if not any(_has_latex(text) for text in fields):
        return paper
    return replace(
        paper,
        title=latex_to_text(paper.title),
        abstract=latex_to_text(paper.abstract),
        comment=latex_to_text(paper.comment),
        authors=tuple(latex_to_text(a) for a in paper.authors),
    )
