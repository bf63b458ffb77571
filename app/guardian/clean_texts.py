"""Texts the policy in force found nothing in, so that the next request carrying the same
text does not scan it again: request texts, and answers given whole.

An application's requests repeat most of their text: the same instructions and tool
definitions on every call, and in a conversation every earlier message again on each turn
(chat completions resend the whole of it). Scanning only what is new keeps a turn's check in
proportion to the turn, not to the conversation. Answers repeat too (the built-in model's
are made from templates, a cached or deterministic upstream's are the same text again): an
answer given whole whose texts were each found clean whole goes out without a screen (the
Risk stage, app/matriz/stages/risk.py; a streamed answer always passes its holdback). They
are kept under a kind of their own (OUTPUT), as the output rules are not the input ones.

What is kept is not the text: its hash (Python's string hash, SipHash keyed with a secret
drawn at each start, so a text cannot be crafted offline to collide with another), mixed
with a random number of the policy's digest and the text's kind (an integer: no tuple to
make, hash and free at each look-up). Where hash randomisation is turned off
(`PYTHONHASHSEED=0`) nothing is kept and every text is scanned. Only texts that the fast rules
found nothing in are kept, and only for kinds whose semantic rules never change a request
(those are scanned every time). A reload changes the digest, so nothing found clean under
one policy passes under the next.

Bounded, and not flushed by one-off texts (a service answering thousands of new questions a
second would otherwise push out a conversation's messages between two of its turns): a
segmented LRU. A text found clean enters a probation segment; found again there, it moves to
a protected one; the least recently used of each segment goes when it is full (out of the
protected one, back to probation). One-off texts only ever pass through probation.
"""

from __future__ import annotations

import secrets
import sys
from collections import OrderedDict

from app.guardian.compiled import Policy

CAPACITY = 8192  # keys in each of the two segments (16,384 keys: 1.9 MiB measured)

Key = int  # the text's hash, mixed with its policy's and kind's salt
OUTPUT = "output"  # the kind answers are kept under (request texts: text, tool, file, document)


class CleanTexts:
    """A bounded set of (policy, kind, text) the policy found nothing in."""

    __slots__ = ("_capacity", "_probation", "_protected", "_salts", "enabled")

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity  # of each segment
        self._probation: OrderedDict[Key, None] = OrderedDict()  # seen once
        self._protected: OrderedDict[Key, None] = OrderedDict()  # seen again since
        # A random 64-bit number for each policy digest and kind: keys of one never meet
        # another's (the salts of policies long gone are few and small).
        self._salts = _Salts()
        self.enabled = bool(sys.flags.hash_randomization) and capacity > 0

    def __len__(self) -> int:
        return len(self._probation) + len(self._protected)

    def holds(self, policy: Policy, kind: str, text: str) -> bool:
        """Whether `text` of `kind` was found clean by `policy` (and is kept)."""
        if not self.enabled:
            return False
        key = hash(text) ^ self._salts[policy.digest][kind]
        if key in self._protected:
            self._protected.move_to_end(key)
            return True
        if key not in self._probation:
            return False
        del self._probation[key]
        self._protected[key] = None
        if len(self._protected) > self._capacity:
            self._on_probation(self._protected.popitem(last=False)[0])
        return True

    def add(self, policy: Policy, kind: str, text: str) -> None:
        """Keep that `policy` found nothing in `text` of `kind`."""
        if self.enabled:
            self._on_probation(hash(text) ^ self._salts[policy.digest][kind])

    def _on_probation(self, key: Key) -> None:
        self._probation[key] = None
        self._probation.move_to_end(key)
        if len(self._probation) > self._capacity:
            self._probation.popitem(last=False)


class _KindSalts(dict[str, int]):
    """A policy's salt of each kind, drawn when first asked for."""

    def __missing__(self, kind: str) -> int:
        salt = self[kind] = secrets.randbits(64)
        return salt


class _Salts(dict[str, _KindSalts]):
    """The salts of each policy digest met."""

    def __missing__(self, digest: str) -> _KindSalts:
        salts = self[digest] = _KindSalts()
        return salts
