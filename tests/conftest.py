import os

from hypothesis import settings

# The editable install rebuilds on import and would print to stdout.
os.environ.setdefault("SKBUILD_EDITABLE_VERBOSE", "0")

# Property tests draw the same examples on every run and machine (fixed
# seeds everywhere); set HYPOTHESIS_PROFILE=explore to search afresh.
settings.register_profile("fastgrad", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fastgrad"))
