"""The minimize driver's C API checked from C (c_api_check.c): built against
the installed header and static library, and from the repository's sources
under AddressSanitizer and UBSan (each check prints "<name> ok")."""
import glob
import os
import shutil
import subprocess

import pytest

import fastgrad as fg

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join(HERE, os.pardir, os.pardir, "csrc")
CHECKS = ["init_wrong_size", "init", "run_wrong_size", "method_table", "warm_start_split",
          "warm_start_tampered", "maxfun", "objective_error", "poll_by_time"]


def compiler():
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        # justified: these checks build a C program; a machine without a C
        # compiler cannot (the Python tests cover the same driver)
        pytest.skip("no C compiler")
    return cc


def run_checks(exe):
    out = subprocess.run([exe], capture_output=True, text=True, timeout=120)
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    failed = {k: v for k, v in lines.items() if v != "ok"}
    assert not failed and out.returncode == 0, (failed, out.stderr[-3000:])
    assert set(CHECKS) <= set(lines)


def test_c_api_against_the_installed_header_and_library(tmp_path):
    exe = str(tmp_path / "check")
    build = subprocess.run([compiler(), "-std=c99", "-D_POSIX_C_SOURCE=199309L", "-Wall",
                            "-Wextra", "-Werror", "-I", fg.get_include(),
                            os.path.join(HERE, "c_api_check.c"), "-o", exe,
                            "-L", fg.get_library_dir(), "-lfgcore", "-lm", "-lpthread"],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    run_checks(exe)


def test_c_api_under_address_and_undefined_behaviour_sanitizers(tmp_path):
    # the driver and what it calls; the whole core if that does not link
    driver = sorted(p for pattern in ("fg_min*.c", "fg_linesearch*.c", "fg_optim*.c",
                                      "fg_status.c")
                    for p in glob.glob(os.path.join(CSRC, pattern)))
    everything = sorted(glob.glob(os.path.join(CSRC, "*.c")))
    if not everything:
        # justified: the sanitizer build compiles the repository's C sources;
        # an installed copy without the repository has none
        pytest.skip("no csrc/ next to the tests (an installed copy only)")
    exe = str(tmp_path / "check_san")
    flags = ["-std=gnu99", "-O1", "-g", "-fno-omit-frame-pointer",
             "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
             "-DFG_NO_CLONES", "-I", CSRC]
    for sources in (driver, everything):
        build = subprocess.run([compiler(), *flags, os.path.join(HERE, "c_api_check.c"),
                                *sources, "-o", exe, "-lm", "-lpthread"],
                               capture_output=True, text=True, timeout=600)
        if "undefined reference" not in build.stderr:
            break
    if build.returncode != 0 and "sanitize" in build.stderr and "unrecognized" in build.stderr:
        # justified: an old compiler without the sanitizers cannot build this variant
        pytest.skip("the compiler has no AddressSanitizer/UBSan")
    assert build.returncode == 0, build.stderr[-3000:]
    run_checks(exe)
