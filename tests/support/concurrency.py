"""Several writers at the same moment: threads held at a barrier, then let go together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def at_once(writers: int, send: Callable[[], Any], timeout: float = 60) -> list[Any]:
    """`send()` called by `writers` threads released together; their answers (a writer that raised has none)."""
    start = threading.Barrier(writers)
    answers: list[Any] = []
    lock = threading.Lock()

    def one() -> None:
        start.wait()
        out = send()
        with lock:
            answers.append(out)

    threads = [threading.Thread(target=one) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return answers
