"""Long tape calls (the dual gradient's O(n) passes, the Hessians' O(n) and
O(n^2) passes) run in parts of about 50 ms with a check for signals between
them: Ctrl-C interrupts them promptly, in a subprocess here, and the
compiled function keeps working afterwards."""
import subprocess
import sys
import textwrap

import pytest

CHILD = """
import os, signal, sys, threading, time
import numpy as np
import fastgrad as fg

def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

n, what = int(sys.argv[1]), sys.argv[2]
cf = fg.compile(rosen, n)
x = np.full(n, 0.5)
sent = []

def interrupt():
    time.sleep(0.3)
    sent.append(time.perf_counter())
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=interrupt, daemon=True).start()
start = time.perf_counter()
try:
    if what == "gradient":
        cf.gradient(x, method="dual")   # the O(n) dual passes, in parts
    else:
        cf.hessian(x, method=what)
except KeyboardInterrupt:
    late = time.perf_counter() - sent[0]
    small = fg.compile(rosen, 3)
    assert cf(np.ones(n)) == 0.0 and small.hessian(np.ones(3)).shape == (3, 3)
    np.testing.assert_array_equal(cf.gradient(np.ones(n), method="reverse"), np.zeros(n))
    print(f"interrupted {late:.3f}")
else:
    print(f"finished {time.perf_counter() - start:.3f}")
"""


@pytest.mark.parametrize("n, what", [(3000, "hyperdual"), (6000, "reverse"),
                                     (40000, "gradient")])
def test_ctrl_c_interrupts_long_calls(n, what):
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD), str(n), what],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    word, seconds = r.stdout.split()
    assert word == "interrupted", r.stdout
    # parts take ~50 ms; the margin is for a loaded machine
    assert float(seconds) < 1.0, r.stdout
