"""clenc_ctypes.py — the ctypes mirrors of include/clenc.h's structs for tools/ scripts, re-exported from the Python package (python/clenc/_ctypes.py), the one copy.

Kept so that scripts run from tools/ (bench_peers.py) import the mirrors
without installing the package; tests/python/test_abi.py checks the
package's module against the C compiler's layouts.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "python"))
from clenc._ctypes import ClencDeviceInfo, ClencModelInfo, ClencOptions  # noqa: E402,F401

# Callers pass ctypes.sizeof(mirror) to the _sized symbols (include/clenc.h).
__all__ = ["ClencDeviceInfo", "ClencModelInfo", "ClencOptions"]
