"""Request texts the policy in force found nothing in, so that the next request carrying the
same text does not scan it again.

An application's requests repeat most of their text: the same instructions and tool
definitions on every call, and in a conversation every earlier message again on each turn
(chat completions resend the whole of it). Scanning only what is new keeps a turn's check in
proportion to the turn, not to the conversation.

What is kept is not the text: a key of the policy's digest, the text's kind and length and
its hash (Python's string hash, SipHash keyed with a secret drawn at each start, so a text
cannot be crafted offline to collide with another). Where hash randomisation is turned off
(`PYTHONHASHSEED=0`) nothing is kept and every text is scanned. Only texts that the fast rules
found nothing in are kept, and only for kinds whose semantic rules never change a request
(those are scanned every time). A reload changes the digest: what was kept for the policy
before ages out, least recently used first, past `capacity` keys.
"""

from __future__ import annotations

import sys
from collections import OrderedDict

from app.guardian.compiled import Policy

CAPACITY = 16384  # keys (about 2 MiB), far more than the distinct texts of a busy minute


class CleanTexts:
    """A bounded set of (policy, kind, text) the policy found nothing in."""

    __slots__ = ("_capacity", "_keys", "enabled")

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._keys: OrderedDict[tuple[str, str, int, int], None] = OrderedDict()
        self.enabled = bool(sys.flags.hash_randomization) and capacity > 0

    def __len__(self) -> int:
        return len(self._keys)

    def holds(self, policy: Policy, kind: str, text: str) -> bool:
        """Whether `text` of `kind` was found clean by `policy` (and is kept)."""
        if not self.enabled:
            return False
        key = (policy.digest, kind, len(text), hash(text))
        if key not in self._keys:
            return False
        self._keys.move_to_end(key)
        return True

    def add(self, policy: Policy, kind: str, text: str) -> None:
        """Keep that `policy` found nothing in `text` of `kind`."""
        if not self.enabled:
            return
        self._keys[(policy.digest, kind, len(text), hash(text))] = None
        if len(self._keys) > self._capacity:
            self._keys.popitem(last=False)
