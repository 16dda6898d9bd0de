"""What a forked child (a gunicorn worker) must not inherit from its parent.

Threads do not survive ``fork``, and a database connection or a lock must not be shared
across it. Objects holding such things register a reset that runs in the child right
after the fork, before the child has a second thread, so no per-use check (``getpid``
on every call) and no race between the child's threads is needed.
"""

from __future__ import annotations

import os
import weakref
from typing import Callable, TypeVar

T = TypeVar("T")


def on_fork_in_child(owner: T, reset: Callable[[T], None]) -> None:
    """Call ``reset(owner)`` in every forked child, as long as ``owner`` lives."""
    reference = weakref.ref(owner)

    def after_fork() -> None:
        inherited = reference()
        if inherited is not None:
            reset(inherited)

    os.register_at_fork(after_in_child=after_fork)
