"""Run a test's worker on several threads at once."""
import threading
from typing import Callable


def run_threads(worker: Callable[[int], None], count: int) -> None:
    """Start ``worker(i)`` for i in range(count) on its own thread, all
    before any is joined (so they overlap), and wait for every one."""
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
