"""_ctypes.py — ctypes mirrors of include/clenc.h's public structs and enums, the one copy every Python caller of libclenc.so uses.

Imports nothing but ctypes, so that tests/python/test_abi.py can check every
mirror against the C compiler's layout without loading the library, and
tools/ can import it without numpy. Each class names the struct it mirrors
in `_c_name_`. A function that takes a struct is called through its
`_sized` symbol with the mirror's size
(`lib.clenc_options_init_sized(ctypes.byref(opt), ctypes.sizeof(opt))`), so
the library never writes past the Python buffer; the clenc.h names without
the suffix are C macros, not symbols. A mirror that lacks a field passes a
smaller size and reads or writes the wrong field, which that test catches;
tests/python/test_package.py checks the enum values below against the
header the same way.
"""
import ctypes


class ClencOptions(ctypes.Structure):
    _c_name_ = "clenc_options"
    _fields_ = [("device", ctypes.c_char_p), ("kernel_dir", ctypes.c_char_p),
                ("cache_dir", ctypes.c_char_p), ("binary", ctypes.c_char_p),
                ("source_build", ctypes.c_int), ("profiling", ctypes.c_int),
                ("gemm", ctypes.c_int), ("variant", ctypes.c_int),
                ("tune", ctypes.c_int), ("pad_0_2", ctypes.c_int),
                ("precision", ctypes.c_int),
                ("fp16_compute", ctypes.c_int)]


class ClencDeviceInfo(ctypes.Structure):
    _c_name_ = "clenc_device_info"
    _fields_ = [("platform_index", ctypes.c_uint), ("device_index", ctypes.c_uint),
                ("name", ctypes.c_char * 256), ("vendor", ctypes.c_char * 128),
                ("platform", ctypes.c_char * 128), ("driver_version", ctypes.c_char * 128),
                ("opencl_c_version", ctypes.c_char * 64), ("type", ctypes.c_int),
                ("compute_units", ctypes.c_uint), ("clock_mhz", ctypes.c_uint),
                ("global_mem_bytes", ctypes.c_uint64), ("local_mem_bytes", ctypes.c_uint64),
                ("max_alloc_bytes", ctypes.c_uint64), ("fp16", ctypes.c_int),
                ("fp64", ctypes.c_int), ("compiler_available", ctypes.c_int)]


class ClencModelInfo(ctypes.Structure):
    _c_name_ = "clenc_model_info"
    _fields_ = [("hidden", ctypes.c_uint), ("max_sequence", ctypes.c_uint),
                ("vocab_size", ctypes.c_uint), ("layers", ctypes.c_uint),
                ("pooling", ctypes.c_int), ("gemm", ctypes.c_int), ("variant", ctypes.c_int),
                ("weight_bytes", ctypes.c_uint64), ("has_tokenizer", ctypes.c_int),
                ("max_text_tokens", ctypes.c_uint), ("name", ctypes.c_char * 256),
                ("precision", ctypes.c_int), ("fp16_compute", ctypes.c_int),
                ("head", ctypes.c_int), ("num_labels", ctypes.c_uint),
                ("score_activation", ctypes.c_int), ("has_pooler", ctypes.c_int)]


# Enum values the package passes or reads, as {python name: C enumerator};
# the values are checked against include/clenc.h by the tests.
ENUMS = {
    "pooling": {"default": ("CLENC_POOL_DEFAULT", 0), "mean": ("CLENC_POOL_MEAN", 1),
                "cls": ("CLENC_POOL_CLS", 2), "none": ("CLENC_POOL_NONE", 3),
                "pooler": ("CLENC_POOL_POOLER", 4)},
    "precision": {"default": ("CLENC_PRECISION_DEFAULT", 0), "fp32": ("CLENC_PRECISION_FP32", 1),
                  "fp16": ("CLENC_PRECISION_FP16", 2), "int8": ("CLENC_PRECISION_INT8", 3)},
    "gemm": {"auto": ("CLENC_GEMM_AUTO", 0), "own": ("CLENC_GEMM_OWN", 1),
             "clblast": ("CLENC_GEMM_CLBLAST", 2)},
    "variant": {"auto": ("CLENC_VARIANT_AUTO", 0), "cpu": ("CLENC_VARIANT_CPU", 1),
                "gpu": ("CLENC_VARIANT_GPU", 2)},
    "head": {"none": ("CLENC_HEAD_NONE", 0), "bert": ("CLENC_HEAD_BERT", 1),
             "roberta": ("CLENC_HEAD_ROBERTA", 2), "distilbert": ("CLENC_HEAD_DISTILBERT", 3)},
    "score_activation": {"identity": ("CLENC_SCORE_IDENTITY", 0),
                         "sigmoid": ("CLENC_SCORE_SIGMOID", 1),
                         "softmax": ("CLENC_SCORE_SOFTMAX", 2)},
}
POOL_NORMALIZE = 0x100  # CLENC_POOL_NORMALIZE
SCORES_RAW = 1  # CLENC_SCORES_RAW
CONSTANTS = {"CLENC_POOL_NORMALIZE": POOL_NORMALIZE, "CLENC_SCORES_RAW": SCORES_RAW}


def enum_value(kind, name):
    """The C value of a python name ("mean" -> 1); KeyError for others."""
    return ENUMS[kind][name][1]


def enum_name(kind, value):
    """The python name of a C value (1 -> "mean"); str(value) for unknown
    ones, which a newer library may return."""
    for name, (_, v) in ENUMS[kind].items():
        if v == value:
            return name
    return str(value)
