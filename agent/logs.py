"""Logging for the CLI and the daemon: stderr plus a rotating `state/agent.log`, keys redacted.

Library modules only call `logging.getLogger(__name__)`; this module is the one place that
decides where records go, and it makes sure no API key reaches a log line.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agent.text import hide_userinfo

if TYPE_CHECKING:
    from logging.handlers import RotatingFileHandler

LOG_NAME = "agent.log"
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 5
REDACTED = "[REDACTED]"
KEY_ENV_VARS = ("OPENAI_API_KEY",)

# OpenAI-style keys ("sk-...", "sk-proj-...") and bearer tokens, wherever they appear.
_KEY_PATTERNS = (
    re.compile(r"sk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/\-]{8,}=*"),
)
# Credentials inside URLs: "https://user:pass@host" (agent.text) and "?api-key=...", "&token=...".
_KEY_PARAMETER = re.compile(
    r"(?i)((?<![\w-])(?:api[-_]?key|access[-_]?token|token|key)=)[^&\s#\"'<>,;()\[\]]+"
)
# A log line is cut to this many characters (a 50k-keyword query once made a 789 KB line).
MAX_LINE = 4000
_MIN_SECRET_LEN = 8  # shorter "keys" ("ollama", "x") are placeholders, not secrets
_extra_secrets: set[str] = set()
_HANDLER_MARK = "_research_agent_handler"


def register_secret(value: str | None) -> None:
    """Redact this exact value from every log record from now on (keys read from files)."""
    if value and len(value) >= _MIN_SECRET_LEN:
        _extra_secrets.add(value)


def redact_secrets(text: str) -> str:
    """Replace anything that looks like an API key, and every registered key, by [REDACTED]."""
    secrets = set(_extra_secrets)
    for name in KEY_ENV_VARS:
        value = os.environ.get(name, "")
        if len(value) >= _MIN_SECRET_LEN:
            secrets.add(value)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in _KEY_PATTERNS:
        text = pattern.sub(REDACTED, text)
    text = hide_userinfo(text)
    return _KEY_PARAMETER.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message and traceback with secrets redacted."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = bound_lines(redact_secrets(record.getMessage()))
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text, so the traceback is redacted once for all handlers.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = bound_lines(redact_secrets(record.exc_text))
        if record.stack_info:
            record.stack_info = bound_lines(redact_secrets(record.stack_info))
        return True


def bound_lines(text: str, limit: int = MAX_LINE) -> str:
    """Each line cut to `limit` characters, saying how much was cut (redact first: a key cut in
    half would no longer be recognised)."""
    if len(text) <= limit:
        return text
    lines = text.split("\n")
    return "\n".join(
        f"{line[:limit]}… [{len(line) - limit:,} more characters]" if len(line) > limit else line
        for line in lines
    )


@functools.cache
def state_file_handler() -> type[RotatingFileHandler]:
    """StateFileHandler, made on first use: logging.handlers costs ~10 ms of CPU, which the
    quick commands, writing no log file, never need."""
    from logging.handlers import RotatingFileHandler

    class StateFileHandler(RotatingFileHandler):
        """state/agent.log; a write that fails (disk full, read-only) is reported once in one
        line on stderr instead of a traceback per record, and the command goes on."""

        _reported = False

        def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
            if not self._reported:
                self._reported = True
                error = sys.exc_info()[1]
                sys.stderr.write(f"warning: cannot write {self.baseFilename}: {error}; "
                                 "later log lines go to stderr only.\n")

    return StateFileHandler


class CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is now (not the one at setup), so a replaced stream works."""

    @property
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass


def setup_logging(state_dir: Path | None, verbose: bool = False) -> None:
    """Send logs to stderr and, with a state dir, to a rotating state/agent.log; idempotent."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    stderr = CurrentStderrHandler()
    stderr.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    handlers: list[logging.Handler] = [stderr]
    if state_dir is not None:
        log_file = open_log_file(Path(state_dir) / LOG_NAME)
        if log_file is not None:
            handlers.append(log_file)
    for handler in handlers:
        setattr(handler, _HANDLER_MARK, True)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    # Third-party libraries (httpx, apscheduler, openai) speak at INFO on every request or tick.
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("agent").setLevel(logging.DEBUG if verbose else logging.INFO)


def open_log_file(path: Path) -> logging.Handler | None:
    """The rotating log file, or None with one clear line on stderr when it cannot be written
    (a read-only state/ directory): the command itself says what else that breaks."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = state_file_handler()(
            path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError as exc:
        sys.stderr.write(
            f"warning: cannot write the log file {path} ({exc.strerror or exc}): logging to "
            f"stderr only. Make {path.parent} writable (chmod u+w) to keep a log.\n"
        )
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


def flush_logs() -> None:
    """Flush every handler of the root logger (before the process exits abruptly)."""
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(OSError, ValueError):
            handler.flush()
