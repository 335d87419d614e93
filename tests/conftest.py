import os

# The editable install rebuilds on import and would print to stdout.
os.environ.setdefault("SKBUILD_EDITABLE_VERBOSE", "0")
