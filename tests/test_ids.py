"""Ids: random, unique, and never shared with a forked child."""

from __future__ import annotations

import os

from app.ids import new_id, new_ids, ordered_ids, random_hex


def test_ids_are_unique_across_reads_of_the_random_source() -> None:
    made = {new_id("resp_") for _ in range(2000)}  # several 4 KiB reads
    assert len(made) == 2000
    assert all(len(i) == len("resp_") + 48 for i in made)
    assert len(set(new_ids("a_", "b_", "c_"))) == 3
    assert len(random_hex(16)) == 32
    ordered = ordered_ids("x_", 5)
    assert ordered == sorted(ordered)


def test_a_forked_child_does_not_reuse_its_parents_bytes() -> None:
    new_id("warm_")  # the parent holds unread bytes
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, to the parent
        os.write(write, new_id("c_").encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 200).decode()
    os.close(read)
    assert child[2:] != new_id("c_")[2:]
