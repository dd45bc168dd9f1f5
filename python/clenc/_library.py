"""_library.py — finds and loads libclenc.so, declares the signatures of the functions the package calls, and turns statuses into clenc.Error subclasses.

Where the library comes from, first found wins (README.md, "Python"):
  1. a path given to clenc.use_library() before the first call;
  2. next to the package: a libclenc.so.0 (or libclenc.so) inside the
     installed clenc/ folder, where a packager who bundles the library puts
     it (`pip install ./python` does not copy it: the package then uses the
     library `make install` put on the system);
  3. the installed library: libclenc.so.0 as the dynamic loader finds it
     (LD_LIBRARY_PATH, ldconfig's cache), then ctypes.util.find_library;
  4. $CLENC_LIBRARY, a path to the file (a build tree: build/libclenc.so).
The library is loaded on first use, not at import, so that `import clenc`
works (and the tests can read the struct mirrors) without it.

ctypes.CDLL releases the GIL around every foreign call, so threads with an
Encoder each encode at the same time.
"""
import ctypes
import ctypes.util
import os
import threading

P, I, U, S, Z = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, ctypes.c_char_p, ctypes.c_size_t
PP = ctypes.POINTER(ctypes.c_void_p)

# Functions that take a struct are the _sized symbols only (include/clenc.h,
# "Structs that grow"; tests/python/test_abi.py checks that no other is bound).
SIGNATURES = [
    ("clenc_version", S, []),
    ("clenc_last_error", S, []),
    ("clenc_status_name", S, [I]),
    ("clenc_status_string", S, [I]),
    ("clenc_device_type_name", S, [I]),
    ("clenc_device_list_sized", I, [P, Z, Z, ctypes.POINTER(Z)]),
    ("clenc_device_find_sized", I, [S, P, Z]),
    ("clenc_options_init_sized", I, [P, Z]),
    ("clenc_context_create_sized", I, [P, Z, PP]),
    ("clenc_context_device_sized", I, [P, P, Z]),
    ("clenc_context_destroy", None, [P]),
    ("clenc_model_load_as", I, [P, S, I, PP]),
    ("clenc_model_destroy", None, [P]),
    ("clenc_model_info_get_sized", I, [P, P, Z]),
    ("clenc_model_label", S, [P, U]),
    ("clenc_tokenize_n", I, [P, S, Z, S, Z, Z, P, P, ctypes.POINTER(Z)]),
    ("clenc_session_create", I, [P, U, U, PP]),
    ("clenc_session_destroy", None, [P]),
    ("clenc_session_set_pooling", I, [P, I]),
    ("clenc_embed_text_n", I, [P, P, P, Z, P]),
    ("clenc_encode", I, [P, P, P, P, U, U, I, P]),  # ids, type_ids, lengths, batch, seq
    ("clenc_score_pairs", I, [P, P, P, Z, U, P]),
    ("clenc_classify", I, [P, P, Z, U, P]),
]

_lock = threading.Lock()
_lib = None
_chosen = None


def use_library(path):
    """Load libclenc.so from `path`, ahead of the search order. Call it before
    anything that uses the library; a second, different path is an error."""
    global _chosen
    with _lock:
        if _lib is not None and os.path.realpath(_lib._name) != os.path.realpath(path):
            raise RuntimeError(f"clenc: the library is already loaded from {_lib._name}")
        _chosen = path
    return lib()


def candidates():
    """[(where, path or soname)] in the order they are tried."""
    here = os.path.dirname(os.path.abspath(__file__))
    found = []
    if _chosen:
        found.append(("clenc.use_library()", _chosen))
    for name in ("libclenc.so.0", "libclenc.so"):
        path = os.path.join(here, name)
        if os.path.exists(path):
            found.append(("next to the package", path))
    found.append(("the installed library", "libclenc.so.0"))
    installed = ctypes.util.find_library("clenc")
    if installed:
        found.append(("the installed library", installed))
    env = os.environ.get("CLENC_LIBRARY")
    if env:
        found.append(("CLENC_LIBRARY", env))
    return found


def lib():
    """The loaded library, loading it on first use."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            tried = []
            for where, path in candidates():
                try:
                    loaded = ctypes.CDLL(path)
                except OSError as err:
                    tried.append(f"{where}: {err}")
                    continue
                for name, res, args in SIGNATURES:
                    fn = getattr(loaded, name)
                    fn.restype, fn.argtypes = res, args
                _lib = loaded
                break
            else:
                raise OSError("clenc: libclenc.so not found; tried " + "; ".join(tried) +
                              ". Build it with `make`, then install it (`make install`) "
                              "or set CLENC_LIBRARY to its path")
    return _lib


def library_path():
    """The file the library was loaded from (as given to the loader)."""
    return lib()._name


# ------------------------------------------------------------------ errors

class Error(Exception):
    """A clenc call failed: `status` is the status name ("CLENC_ERR_IO"),
    `message` what clenc_last_error() said."""

    def __init__(self, status, message):
        self.status = status
        self.message = message
        super().__init__(f"{status}: {message}" if message else status)


class InvalidArgumentError(Error, ValueError):
    pass


class NoDeviceError(Error):
    pass


class OpenCLError(Error):
    pass


class BuildError(Error):
    pass


class BinaryError(Error):
    pass


class OutOfMemoryError(Error, MemoryError):
    pass


class IOError(Error, OSError):  # noqa: A001 (clenc.IOError, as CLENC_ERR_IO)
    def __new__(cls, status, message):
        # OSError(a, b) would read (errno, strerror) from the two arguments.
        return OSError.__new__(cls, message)


class ModelFormatError(Error):
    pass


class UnsupportedError(Error):
    pass


ERRORS = {"CLENC_ERR_INVALID_ARG": InvalidArgumentError, "CLENC_ERR_NO_DEVICE": NoDeviceError,
          "CLENC_ERR_OPENCL": OpenCLError, "CLENC_ERR_BUILD": BuildError,
          "CLENC_ERR_BINARY": BinaryError, "CLENC_ERR_OUT_OF_MEMORY": OutOfMemoryError,
          "CLENC_ERR_IO": IOError, "CLENC_ERR_MODEL_FORMAT": ModelFormatError,
          "CLENC_ERR_UNSUPPORTED": UnsupportedError}


def error(status, message):
    """The Error subclass of a status name, with the message."""
    return ERRORS.get(status, Error)(status, message)


def check(status, what):
    """Raise the status's Error with clenc_last_error() (read at once, in
    this thread: it is thread-local) unless it is CLENC_OK."""
    if status == 0:
        return
    library = lib()
    name = (library.clenc_status_name(status) or b"CLENC_ERR_UNKNOWN").decode()
    message = (library.clenc_last_error() or b"").decode("utf-8", "replace")
    raise error(name, message or f"{what} failed")
