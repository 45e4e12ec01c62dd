"""A bounded memo of deflate work keyed by (window, message) (RFC 7692 §7.2.1, §7.2.2).

Deflating or inflating one message is a pure function of the message and of what the LZ77
window holds before it: the last ``2**N`` bytes of the earlier messages, or nothing without
context takeover. The suite's long runs repeat a few payloads (Autobahn's 1000 messages a row),
so the same (window, message) pair comes back every few messages: the second time the result
is looked up instead of computed. The memo holds at most ``budget`` bytes of keys and values
and starts afresh when full, so memory stays bounded whatever is sent or received.
"""

from __future__ import annotations

from typing import Final

DEFAULT_BUDGET: Final = 8 * 2**20
"""Bytes of windows, messages and results one memo may hold."""

MIN_MEMO_SIZE: Final = 1024
"""Messages shorter than this are computed each time: hashing the window would cost more."""

Key = tuple[bytes, bytes]


class WindowMemo:
    """Results by (window content, message); at most ``budget`` bytes, cleared when full."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self._results: dict[Key, bytes] = {}
        self._size = 0
        self.hits = 0

    @staticmethod
    def worth(message: bytes) -> bool:
        """Whether ``message`` is long enough to be memoised."""
        return len(message) >= MIN_MEMO_SIZE

    def get(self, window: bytes, message: bytes) -> bytes | None:
        """The result stored for ``message`` after ``window``, if any."""
        found = self._results.get((window, message))
        if found is not None:
            self.hits += 1
        return found

    def put(self, window: bytes, message: bytes, result: bytes) -> None:
        """Store ``result``; a memo that would pass its budget is emptied first."""
        size = len(window) + len(message) + len(result)
        if size > self.budget:
            return
        if self._size + size > self.budget:
            self._results.clear()
            self._size = 0
        self._results[(window, message)] = result
        self._size += size
