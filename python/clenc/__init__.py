"""clenc — Transformer encoders on any OpenCL device, from Python: `clenc.Encoder(model).encode(texts)` on libclenc.so.

    import clenc
    with clenc.Encoder("models/all-MiniLM-L6-v2") as model:
        vectors = model.encode(["a sentence", "another one"])  # float32 [2, 384]

The library is found in this order: clenc.use_library(path) if called
first; libclenc.so.0 next to this file (a bundled copy); the installed
library (the dynamic loader's libclenc.so.0, ctypes.util.find_library);
$CLENC_LIBRARY. OpenCL contexts do not survive fork(): create Encoders in
the process that uses them (multiprocessing: the "spawn" start method, or
create them after the fork).
"""
from ._encoder import Encoder, devices
from ._library import (BinaryError, BuildError, Error, InvalidArgumentError, IOError,  # noqa: A004
                       ModelFormatError, NoDeviceError, OpenCLError, OutOfMemoryError,
                       UnsupportedError, library_path, use_library)

__version__ = "0.5.0"


def library_version():
    """The loaded libclenc.so's clenc_version()."""
    from ._library import lib
    return lib().clenc_version().decode()


# clenc.IOError is left out of __all__: `from clenc import *` would shadow
# the builtin IOError.
__all__ = ["Encoder", "devices", "Error", "InvalidArgumentError", "NoDeviceError",
           "OpenCLError", "BuildError", "BinaryError", "OutOfMemoryError", "ModelFormatError",
           "UnsupportedError", "library_path", "library_version", "use_library"]
