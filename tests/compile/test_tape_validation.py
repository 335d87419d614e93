"""A tampered or hand-built tape is validated in full before anything runs:
a ValueError (TypeError for arrays of the wrong kind), never a crash, never
garbage. Also: workspaces whose size overflows, byte-swapped inputs, empty
slots and index pools, and a fuzz of random field corruptions of real tapes
run in a subprocess, so that a crash fails the test.
"""
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastgrad
from fastgrad._tape import CODES, INSTR_DTYPE, Tape
from fastgrad.program import Program


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def tape_of(prog, chunk=4):
    return Tape(*prog.arrays(), prog.shape, chunk)


def with_field(prog, row, field, value):
    instrs = prog.instrs.copy()
    instrs[row][field] = value
    return Program(prog.shape, prog.slot_size, prog.slot_kind, prog.consts, instrs,
                   prog.index_pool)


def test_instruction_layout_comes_from_c():
    assert INSTR_DTYPE.names[:3] == ("code", "op", "out")
    assert INSTR_DTYPE["a"] == np.dtype(np.int32) and INSTR_DTYPE["a_off"] == np.dtype(np.int64)
    assert INSTR_DTYPE["scale"] == np.dtype(np.float64)
    prog = fastgrad.compile(rosenbrock, 3).program
    assert prog.instrs.dtype == INSTR_DTYPE


# ------------------------------------------------ fields a code does not use

def unused_field_cases():
    """(program, row, field, value): a field the instruction does not read,
    set to a value that an instruction using it could hold."""
    prog = fastgrad.compile(lambda x: np.sum(np.sin(x) * x[::-1]) + np.sum(x @ np.ones((3, 2))),
                            3).program
    for row, ins in enumerate(prog.instrs):
        code = {v: k for k, v in CODES.items()}[int(ins["code"])]
        reads_b = code in ("BINARY", "WHERE", "MATMUL")
        if not reads_b:
            yield prog, row, "b", 0            # was a heap overflow in the adjoint planning
            yield prog, row, "b", 2**31 - 1
            yield prog, row, "b_off", 1
            yield prog, row, "sb", 1
        yield prog, row, "c", 0
        yield prog, row, "c_off", 3
        yield prog, row, "sc", 1
        if code not in ("UNARY", "BINARY"):
            yield prog, row, "op", 1
        if code != "SUM":
            yield prog, row, "scale", 2.0
            yield prog, row, "scale", np.nan
        if code in ("UNARY", "BINARY", "WHERE"):
            yield prog, row, "p0", 1
            yield prog, row, "p2", -1


@pytest.mark.parametrize("case", range(len(list(unused_field_cases()))))
def test_unused_fields_must_hold_their_unused_value(case):
    prog, row, field, value = list(unused_field_cases())[case]
    bad = with_field(prog, row, field, value)
    with pytest.raises(ValueError, match=rf"invalid tape: instruction {row} "):
        tape_of(bad)


@pytest.mark.parametrize("field, value, match", [
    ("a", 2**32 + 1, "outside the range of int32"),      # was truncated to slot 1
    ("out", -2**31 - 1, "outside the range of int32"),
    ("a_off", 2**63, "outside the range of int64"),
    ("code", 2.0, "must hold integers"),
    ("n", True, "must hold integers"),
])
def test_fields_are_never_truncated_or_coerced(field, value, match):
    prog = fastgrad.compile(rosenbrock, 3).program
    rows = [{name: ins[name].item() for name in INSTR_DTYPE.names} for ins in prog.instrs]
    rows[0][field] = value
    with pytest.raises((ValueError, TypeError), match=match):
        Program(prog.shape, prog.slot_size, prog.slot_kind, prog.consts, rows, prog.index_pool)


@pytest.mark.parametrize("field, value", [
    ("a_off", 2**63 - 1),             # off + extent overflowed int64
    ("a_off", 2**62),
    ("n", 2**62),
    ("p1", 2**62),
    ("out", 2**31 - 1),
    ("a", -2),
])
def test_overflowing_offsets_and_sizes_are_refused(field, value):
    cf = fastgrad.compile(lambda x: np.sum(x[1:] ** 2), 4)
    row = 1 if field == "p1" else 0
    with pytest.raises(ValueError, match="invalid tape"):
        tape_of(with_field(cf.program, row, field, value))


def test_slot_tables_are_checked():
    prog = fastgrad.compile(lambda x: np.sum(x * np.arange(3.0)), 3).program
    const = prog.slot_kind.index(fastgrad._tape.SLOT_CONST)
    arrays = list(prog.arrays())     # slot_size, slot_kind, const_off, pool, index_pool, instr
    for array, element, value, match in [
            (0, 0, 2**62, "address space"), (0, const, -1, "negative slot size"),
            (1, const, 7, "slot kind"), (1, 0, fastgrad._tape.SLOT_COMPUTED, "slot 0"),
            (2, const, 2**62, "constant pool"), (2, const, -1, "constant pool"),
            (2, 0, 1, "not constant")]:
        bad = [a.copy() for a in arrays]
        bad[array][element] = value
        with pytest.raises(ValueError, match=match):
            Tape(*bad, prog.shape, 4)
    with pytest.raises(ValueError, match="not a constant slot"):
        Program(prog.shape, prog.slot_size, prog.slot_kind, {0: np.ones(3)}, prog.instrs,
                prog.index_pool).arrays()
    with pytest.raises(TypeError, match="INSTR_DTYPE"):
        Tape(*arrays[:5], arrays[5].astype(INSTR_DTYPE.newbyteorder()), prog.shape, 4)


def test_tampered_pickle_is_refused():
    cf = fastgrad.compile(rosenbrock, 3)
    good = pickle.dumps(cf)
    assert pickle.loads(good)(np.ones(3)) == 0.0
    cf.program.instrs[0]["a"] = 9     # tamper with the recorded tape, then pickle it
    with pytest.raises(ValueError, match="invalid tape: instruction 0"):
        pickle.loads(pickle.dumps(cf))


def test_empty_slots_and_index_pools_are_valid():
    """x[:0] and x[2:2] gather nothing from an empty index pool."""
    for f, n in [(lambda x: x[0] + np.sum(x[:0]), 1), (lambda x: x[0] + np.sum(x[2:2]), 3),
                 (lambda x: np.sum(x) + np.sum(np.exp(x[1:1]) * 3.0), 2)]:
        cf = fastgrad.compile(f, n)
        x = np.arange(2.0, 2.0 + n)
        assert cf(x) == pytest.approx(f(x))
        expect = fastgrad.gradient(f, x)
        for method in ("dual", "reverse"):
            np.testing.assert_array_equal(cf.gradient(x, method=method), expect)
        np.testing.assert_array_equal(cf.hessian(x), np.zeros((n, n)))


def test_byte_swapped_inputs_are_converted():
    cf = fastgrad.compile(lambda x: np.sum(x * x), 3)
    x = np.array([1.0, 2.0, 3.0], ">f8")
    v = np.array([1.0, 0.0, 0.5], ">f8")
    assert cf(x) == 14.0
    np.testing.assert_array_equal(cf.gradient(x), [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(cf.gradient(x, method="reverse"), [2.0, 4.0, 6.0])
    assert cf.jvp(x, v) == (14.0, 5.0)
    np.testing.assert_array_equal(cf.hvp(x, v), [2.0, 0.0, 1.0])
    np.testing.assert_array_equal(cf.hessian(x), 2 * np.eye(3))
    assert cf(x.astype(">f4")) == 14.0 and cf(x.astype(">i8")) == 14.0
    assert x.dtype.str == ">f8" and list(x) == [1.0, 2.0, 3.0]   # not modified
    with pytest.raises(TypeError, match="real numbers"):
        cf(np.array([True, False, True]))


# ------------------------------------------- workspaces that cannot exist

def run_python(code, timeout=120):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)


def test_workspace_overflow_is_refused_at_compile():
    """The workspace of a 2^61-element x cannot exist: compile refuses it
    (this segfaulted in minimize, the objective capsule and fd_gradient)."""
    r = run_python("""
        import numpy as np, fastgrad as fg
        for n in (2**61, 2**59, 2**62 + 3):
            try:
                fg.compile(lambda x: np.sum(x * x), n)
            except ValueError as e:
                assert "address space" in str(e), e
            else:
                raise SystemExit(f"compile accepted {n}")
        print("ok")
    """)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_huge_but_possible_workspace_is_a_memory_error():
    r = run_python("""
        import numpy as np, fastgrad as fg
        cf = fg.compile(lambda x: np.sum(x * x), 2**45)
        for make in (cf._fg_objective_capsule, cf._fg_scalar_capsule):
            try:
                make()
            except MemoryError:
                pass
            else:
                raise SystemExit("allocated 2^45 doubles")
        big = fg.compile(lambda x: np.sum(x * x), 2**28, chunk=2**28)   # n * k overflows
        try:
            big._fg_objective_capsule()
        except MemoryError:
            print("ok")
    """)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


# ------------------------------------------------------------------- fuzz

FUZZ = r"""
import math, sys
import numpy as np
import fastgrad
from fastgrad._tape import Tape, INSTR_DTYPE
from fastgrad.program import Program

def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

W = np.arange(12.0).reshape(4, 3) / 10
FUNCTIONS = [
    (rosen, (5,)),
    (lambda x: np.sum(np.where(x > 0.5, x ** 2, -x) @ W) + np.mean(np.tanh(x)), (2, 4)),
    (lambda x: np.sum(np.exp(x.T) * x.T[::-1]) + np.linalg.norm(x), (3, 2)),
    (lambda x: np.sum(np.clip(x, -1, 1) * np.sum(x, axis=0)) + x[0, 1] * x[1, 0], (2, 3)),
]
LABELS = np.array([2, 0, 1, 2, 1])
FEATURES = np.arange(15.0).reshape(5, 3) / 10
def softmax_ce(w, X, y):   # data inputs: DATA, DATA_INT, TAKE and CAST
    Z = X @ w.reshape(3, 3)
    return np.mean(np.log(np.sum(np.exp(Z), axis=1)) - Z[np.arange(5), y]) + np.sum(y * w[:5])
rng = np.random.default_rng(int(sys.argv[1]))
INTS = [-2**63, -2**31, -2, -1, 0, 1, 2, 3, 5, 7, 8, 12, 2**31 - 1, 2**32, 2**62, 2**63 - 1]
ok = refused = 0
for case in range(int(sys.argv[2])):
    f, shape = FUNCTIONS[case % len(FUNCTIONS)] if case % 5 else (softmax_ce, (9,))
    prog = (fastgrad.compile(f, shape).program if case % 5 else
            fastgrad.compile(f, shape, data=(FEATURES, LABELS)).program)
    instrs = prog.instrs.copy()
    arrays = list(prog.arrays())
    for _ in range(int(rng.integers(1, 4))):
        where = rng.integers(10)
        if where < 7:
            row = int(rng.integers(len(instrs)))
            field = INSTR_DTYPE.names[int(rng.integers(len(INSTR_DTYPE.names)))]
            if field == "scale":
                instrs[row][field] = rng.choice([0.0, -1.0, np.nan, np.inf, 1e308])
                continue
            info = np.iinfo(INSTR_DTYPE[field])
            v = int(rng.choice(INTS)) if rng.random() < 0.6 else int(instrs[row][field]) + int(rng.integers(-3, 4))
            instrs[row][field] = min(max(v, info.min), info.max)
        else:
            arr = arrays[[0, 1, 2, 4][int(rng.integers(4))]]
            if arr.size:
                info = np.iinfo(arr.dtype)
                v = int(rng.choice(INTS)) if rng.random() < 0.5 else int(arr[int(rng.integers(arr.size))]) + int(rng.integers(-3, 4))
                arr[int(rng.integers(arr.size))] = min(max(v, info.min), info.max)
    arrays[5] = instrs
    n = math.prod(shape)
    try:
        tape = Tape(*arrays, shape, int(rng.integers(1, 6)))
    except (ValueError, TypeError, MemoryError):
        refused += 1
        continue
    ok += 1
    x = rng.normal(size=shape)
    v = rng.normal(size=shape)
    # data slots (from the program, or a corrupted slot kind): integers of
    # either sign within the smallest axis any program here selects with them
    if sum(size for _, size in tape.data_info) > 10**6:   # valid, but too large to feed
        ok, refused = ok - 1, refused + 1
        continue
    d = tuple(rng.integers(-2, 2, size).astype(dt) if dt.kind == "i" else rng.normal(size=size)
              for dt, size in tape.data_info)
    try:
        tape.eval(x, d)
    except ValueError:   # labels outside a corrupted TAKE's axis: refused at binding
        ok, refused = ok - 1, refused + 1
        continue
    with np.errstate(all="ignore"):
        tape.eval(x, d)
        tape.value_grad(x, False, d)
        tape.value_grad(x, True, d)
        tape.jvp(x, v, d)
        tape.hvp(x, v, d)
        tape.hessian(x, True, False, d)
        tape.hessian(x, True, True, d)
print(ok, refused)
"""


@pytest.mark.parametrize("seed", [1, 2])
def test_fuzz_field_corruptions_never_crash(seed):
    """Random corruptions of real tapes (instruction fields, slot sizes and
    kinds, constant offsets, gather and take indices, data slots): each is
    refused with a ValueError (at creation, or at binding for labels outside
    a corrupted axis), or is a valid program that every mode evaluates."""
    r = subprocess.run([sys.executable, "-c", FUZZ, str(seed), "2500"], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, f"crashed ({r.returncode}): {r.stderr[-2000:]}"
    ok, refused = map(int, r.stdout.split())
    assert ok + refused == 2500 and refused > 1500 and ok > 50, (ok, refused)


def corrupt(program, row, field, value):
    """The program with one instruction field replaced."""
    instrs = program.instrs.copy()
    instrs[row][field] = value
    return Program(program.shape, program.slot_size, program.slot_kind, program.consts,
                   instrs, program.index_pool)


@pytest.mark.parametrize("row, field, value, what", [
    (0, "a", 99, "operand slot out of range"),
    (0, "a_off", 5, "operand offset past the end of its slot"),
    (1, "a", 7, "reads a slot before it is written"),
    (0, "out", 0, "writes the input slot"),
    (0, "code", 42, "unknown instruction code"),
    (0, "op", 999, "unknown op code"),
    (-1, "n", 2, "output size disagrees with its slot"),
    (1, "sa", 2, "stride other than 0 or 1"),
])
def test_tape_validation_rejects_malformed_programs(row, field, value, what):
    cf = fastgrad.compile(rosenbrock, 3)
    bad = corrupt(cf.program, row, field, value)
    with pytest.raises((ValueError, TypeError), match="invalid tape"):
        Tape(*bad.arrays(), bad.shape, 4)


def test_tape_validation_rejects_bad_gather_index():
    cf = fastgrad.compile(lambda x: np.sum(x[[2, 0]] ** 2), 3)
    prog = cf.program
    assert prog.instrs[0]["code"] == fastgrad._tape.CODES["GATHER"]
    prog.index_pool = np.array([2, 3])       # 3 is outside x
    with pytest.raises(ValueError, match="invalid tape"):
        Tape(*prog.arrays(), prog.shape, 4)
