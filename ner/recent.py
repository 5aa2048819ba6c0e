"""A memory of recent values (built dictionaries, parsed request values): least recently used first out,
bounded in number and in total size, each value's size as whoever keeps it counts it (bytes, trie nodes)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Any


class RecentValues:
    """At most ``capacity`` values by key and ``max_size`` of their sizes in all. A value larger than that
    alone is not kept, or with ``keep_newest`` kept alone until the next comes. Iterating gives the keys,
    the least recently used first. Not thread-safe: a caller shared by threads holds a lock around it."""

    def __init__(self, capacity: int, max_size: int, keep_newest: bool = False) -> None:
        self.capacity = capacity
        self.max_size = max_size
        self.keep_newest = keep_newest
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()  # value, size
        self.size = 0  # of the values kept

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._entries)

    def __reversed__(self) -> Iterator[Hashable]:
        return reversed(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def get(self, key: Hashable) -> Any:
        """The value kept for ``key``, now the most recently used; None if none is."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Keep ``value`` for ``key`` as the most recently used, counted as ``size``."""
        if (old := self._entries.pop(key, None)) is not None:
            self.size -= old[1]
        if size > self.max_size and not self.keep_newest:
            return
        while self._entries and (len(self._entries) >= self.capacity or self.size + size > self.max_size):
            self.size -= self._entries.popitem(last=False)[1][1]
        self._entries[key] = (value, size)
        self.size += size

    def items(self) -> list[tuple[Hashable, Any]]:
        """The keys and values kept, the least recently used first, leaving their order as it is."""
        return [(key, value) for key, (value, _) in self._entries.items()]

    def discard(self, key: Hashable) -> None:
        """Forget ``key``'s value, if one is kept."""
        if (old := self._entries.pop(key, None)) is not None:
            self.size -= old[1]

    def clear(self) -> None:
        self._entries.clear()
        self.size = 0
