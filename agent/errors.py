"""Errors a user can cause or fix; the CLI prints them without a traceback and exits non-zero."""

from __future__ import annotations


class AgentError(Exception):
    """An error meant for the user: names the file, field or URL and says what to do."""

    exit_code = 1


class ConfigError(AgentError):
    """research.toml, tracks.toml or the environment is invalid."""

    exit_code = 2


class WorkspaceError(AgentError):
    """The workspace is missing, not a git repository, or would be overwritten."""

    exit_code = 2


class DatabaseDamaged(AgentError):
    """The SQLite file has corrupted pages: says which file and how to recover."""

    exit_code = 4


class LockedError(AgentError):
    """Another research-agent process holds the workspace lock."""

    exit_code = 3


class SourceError(AgentError):
    """arXiv (API, HTML or PDF) could not be reached or answered with an error."""

    def __init__(self, message: str, url: str = "", retryable: bool = False):
        super().__init__(message)
        self.url = url
        self.retryable = retryable


class UnknownPaperError(AgentError):
    """An arXiv id is malformed or unknown to arXiv."""

    exit_code = 2


class AnalystError(AgentError):
    """The LLM endpoint failed, timed out or kept answering invalid output."""


class BudgetExceeded(AnalystError):
    """The next LLM call would exceed the cycle or daily token budget."""


class JournalError(AgentError):
    """A git operation on the workspace failed."""
