"""clenc_ctypes.py — ctypes mirrors of include/clenc.h's public structs, for Python callers of libclenc.so.

Imports nothing but ctypes, so that tests/python/test_abi.py can check every
mirror against the C compiler's layout without the benchmark's peers. Each
class names the struct it mirrors in `_c_name_`. A function that takes a
struct is called through its `_sized` symbol with the mirror's size
(`lib.clenc_options_init_sized(ctypes.byref(opt), ctypes.sizeof(opt))`), so
the library never writes past the Python buffer; the clenc.h names without
the suffix are C macros, not symbols. A mirror that lacks a field passes a
smaller size and reads or writes the wrong field, which that test catches.
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
