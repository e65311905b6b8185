"""`Closing`: the one `with` protocol for objects that hold a resource until `close()`.

The store, the quick reader and the workspace lock each release something on leaving a `with`
block; they share this instead of writing `__enter__`/`__exit__` three times.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """A context manager whose exit calls `close()` (a subclass defines what closing means)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
