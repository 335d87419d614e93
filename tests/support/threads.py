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


def mismatches_on_threads(matches: Callable[[int], bool], cases: int, count: int,
                          rounds: int) -> list[tuple[int, int]]:
    """Call ``matches(j)`` on ``count`` threads released together, each for
    ``rounds`` cases in turn, thread i starting at case i so that threads
    run different cases at the same moment; return the (thread, case) pairs
    where it returned False."""
    errors = []
    barrier = threading.Barrier(count)

    def worker(i: int) -> None:
        barrier.wait()
        for r in range(rounds):
            j = (i + r) % cases
            if not matches(j):
                errors.append((i, j))

    run_threads(worker, count)
    return errors
