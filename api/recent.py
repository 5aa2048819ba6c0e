"""The service's memory of recent request values: least recently used first out, bounded in number and
in bytes as whoever keeps them counts them."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Any


class RecentValues:
    """At most ``capacity`` values by key and ``max_bytes`` of their sizes as given; a value larger than
    that is not kept. Iterating gives the keys, the least recently used first."""

    def __init__(self, capacity: int, max_bytes: int) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()  # value, size
        self.bytes = 0

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._entries)

    def __reversed__(self) -> Iterator[Hashable]:
        return reversed(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any:
        """The value kept for ``key``, now the most recently used; None if none is."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Keep ``value`` for ``key`` as the most recently used, counted as ``size`` bytes."""
        if (old := self._entries.pop(key, None)) is not None:
            self.bytes -= old[1]
        if size > self.max_bytes:
            return
        while self._entries and (len(self._entries) >= self.capacity or self.bytes + size > self.max_bytes):
            self.bytes -= self._entries.popitem(last=False)[1][1]
        self._entries[key] = (value, size)
        self.bytes += size
