"""Where the DTrace conformance corpus is: ../shared beside the checkout (as in CI and on the
developers' machines), or PYDTRACE_CONFORMANCE."""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.environ.get("PYDTRACE_CONFORMANCE") or os.path.normpath(
    os.path.join(HERE, "..", "..", "shared", "conformance", "test", "unittest"))
