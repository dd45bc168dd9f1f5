# Makefile — builds libclenc, its tools and tests; installs dependencies on Debian; runs, tests, benchmarks.

VERSION   := $(shell sed -n 's/^\#define CLENC_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)/\2/p' include/clenc.h | paste -sd.)
SOVERSION := $(firstword $(subst ., ,$(VERSION)))
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
B         := build

# Debian packages: build, the CPU device, tests (Mesa's ICD brings a
# platform with no devices, which discovery must skip), the model fetch, and
# the benchmark's peers.
DEB_PACKAGES := gcc make pkg-config ocl-icd-opencl-dev opencl-headers \
                libclblast-dev libjansson-dev libutf8proc-dev pocl-opencl-icd \
                libcunit1-dev mesa-opencl-icd clinfo python3 python3-pip \
                python3-venv unzip libopenblas-dev valgrind python3-pytest \
                python3-numpy python3-setuptools libonig-dev \
                libmicrohttpd-dev libopenmpi-dev openmpi-bin
# The GEMM benchmark's oneDNN peer: `make bench` installs it, tests and CI
# do not need it.
BENCH_DEB_PACKAGES := libdnnl-dev

# Debian's interpreter, which python3-pytest and python3-numpy install into:
# a python3 earlier on PATH (pyenv's, a virtual environment) may lack them.
DEB_PYTHON := /usr/bin/python3

PKGS     := OpenCL clblast jansson libutf8proc oniguruma
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS   ?= -O2 -g

# `make test SANITIZE=address,undefined` builds library, tools and tests with
# the sanitizers, in a folder of their own, and fails on any report (leaks
# inside the OpenCL implementation excepted: tests/lsan.supp says which).
# `make test VALGRIND=1` runs the host-side suites and a tiny model's pass
# under valgrind memcheck.
ifdef SANITIZE
B        := build/sanitize
CFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) \
            -fno-sanitize-recover=undefined
endif
RUN_ENV  := $(if $(SANITIZE),ASAN_OPTIONS=detect_leaks=1 \
            LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            OCL_ICD_VENDORS=$(CURDIR)/$(B)/icd)
VALGRIND_SUITES := status safetensors tokenizer models/test_load_torch_encoder_matches_pytorch
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
ALLFLAGS  = -std=c11 $(WARN) $(CFLAGS) -pthread -D_POSIX_C_SOURCE=200809L \
            -DCL_TARGET_OPENCL_VERSION=120 -Iinclude -Iruntime $(PKG_CFLAGS)
LIBS      = $(PKG_LIBS) -lstdc++ -lm -pthread

# PoCL, the device CI tests on, has every capability the suite probes for:
# a skip there is a failure. TEST_STRICT= runs elsewhere without it.
TEST_STRICT ?= --strict

RUNTIME_SRC := $(wildcard runtime/*/*.c)
KERNELS     := $(sort $(wildcard cl_kernels/*.cl cl_kernels/*.h))
LIB_OBJ     := $(RUNTIME_SRC:%.c=$(B)/obj/%.o) $(B)/obj/kernels_embedded.o
TOOL_NAMES  := clenc-info clenc-run clenc-prof clenc-bench clenc-compile \
               clenc-serve
TOOLS       := $(TOOL_NAMES:%=$(B)/bin/%)
# examples/NAME.c -> clenc-example-NAME: built with everything, so that
# they keep compiling against the headers they show.
EXAMPLES    := $(patsubst examples/%.c,$(B)/bin/clenc-example-%,$(wildcard examples/*.c))
TOOL_COMMON := $(B)/obj/tools/cli.o
TEST_SRC    := $(wildcard tests/*.c)
TEST_BIN    := $(B)/bin/clenc-tests
SONAME      := libclenc.so.$(SOVERSION)

.PHONY: all deps run test check bench install clean lint
.DELETE_ON_ERROR:
.SECONDARY:

all: $(B)/libclenc.a $(B)/libclenc.so $(TOOLS) $(EXAMPLES)

# ------------------------------------------------------------------ library
$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLFLAGS) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

$(B)/embed_kernels: build-aux/embed_kernels.c
	@mkdir -p $(B)
	$(CC) -std=c11 $(WARN) -O1 $< -o $@

$(B)/kernels_embedded.c: $(B)/embed_kernels $(KERNELS)
	$(B)/embed_kernels $@ $(KERNELS)

$(B)/obj/kernels_embedded.o: $(B)/kernels_embedded.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(B)/libclenc.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/libclenc.so.$(VERSION): $(LIB_OBJ)
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined $^ $(LIBS) -o $@

$(B)/libclenc.so: $(B)/libclenc.so.$(VERSION)
	ln -sf libclenc.so.$(VERSION) $(B)/$(SONAME)
	ln -sf libclenc.so.$(VERSION) $@

# -------------------------------------------------------------------- tools
$(B)/bin/%: $(B)/obj/tools/%.o $(TOOL_COMMON) $(B)/libclenc.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLFLAGS) $(filter %.o,$^) $(B)/libclenc.a $(LIBS) -o $@

$(B)/bin/clenc-example-%: $(B)/obj/examples/%.o $(B)/libclenc.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLFLAGS) $< $(B)/libclenc.a $(LIBS) -o $@

# Time of an application's pipeline with clenc_encode_cl against the same
# with host round trips (clenc_encode): `make bench-interop`.
$(B)/bin/clenc-bench-interop: $(B)/obj/tools/bench-interop.o $(TOOL_COMMON) \
                              $(B)/libclenc.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLFLAGS) $(filter %.o,$^) $(B)/libclenc.a $(LIBS) -o $@

# clenc-run's --rerank and --classify are a file of their own, as are
# --output (run_output.c) and its MPI ranks (run_mpi.c); so is
# clenc-bench's --pool.
$(B)/bin/clenc-run: $(B)/obj/tools/run_scores.o $(B)/obj/tools/run_output.o \
                    $(B)/obj/tools/run_mpi.o
$(B)/bin/clenc-bench: $(B)/obj/tools/bench_pool.o

# clenc-serve is tools/serve/ on libmicrohttpd (README, "Serving"); only it
# links libmicrohttpd, so libclenc does not depend on it.
SERVE_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard tools/serve/*.c))
$(B)/bin/clenc-serve: $(SERVE_OBJ)
$(B)/bin/clenc-serve: LIBS += $(shell pkg-config --libs libmicrohttpd 2>/dev/null)
$(SERVE_OBJ) $(B)/obj/tools/clenc-serve.o: ALLFLAGS += \
    $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)

# MPI: clenc-run shares --input between the ranks of an MPI job where Open
# MPI's development files are installed (pkg-config ompi-c, else mpicc
# --showme), and runs as one process otherwise. $(B)/mpi.state holds the
# choice and is rewritten when it changes, which rebuilds run_mpi.o. MPI's
# headers are system headers, outside -Werror's reach.
MPI_PC     := $(shell pkg-config --exists ompi-c 2>/dev/null && echo yes)
MPI_CFLAGS := $(if $(MPI_PC),$(shell pkg-config --cflags ompi-c),$(shell mpicc --showme:compile 2>/dev/null))
MPI_LIBS   := $(if $(MPI_PC),$(shell pkg-config --libs ompi-c),$(shell mpicc --showme:link 2>/dev/null))
MPI_STATE  := $(if $(MPI_LIBS),on,off)

$(shell mkdir -p $(B) && { [ "$$(cat $(B)/mpi.state 2>/dev/null)" = $(MPI_STATE) ] || \
  echo $(MPI_STATE) > $(B)/mpi.state; })

$(B)/obj/tools/run_mpi.o: $(B)/mpi.state
$(B)/obj/tools/run_mpi.o: ALLFLAGS += $(if $(MPI_LIBS),-DCLENC_RUN_MPI \
                           $(patsubst -I%,-isystem %,$(MPI_CFLAGS)))
MPI_SAYS   := $(if $(MPI_LIBS),with MPI ($(shell mpirun --version 2>/dev/null | head -n 1)): mpirun -np N clenc-run shares --input,without MPI (no Open MPI development files: apt-get install libopenmpi-dev))
$(B)/bin/clenc-run: $(B)/obj/tools/clenc-run.o $(TOOL_COMMON) $(B)/libclenc.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLFLAGS) $(filter %.o,$^) $(B)/libclenc.a $(LIBS) $(MPI_LIBS) -o $@
	@echo "clenc-run: built $(MPI_SAYS)"

# The GEMM benchmark links OpenBLAS and oneDNN (on libgomp) too.
$(B)/bin/clenc-bench-gemm: tools/bench-gemm.c tools/blas_peers.c \
                           tools/blas_peers.h $(TOOL_COMMON) $(B)/libclenc.a
	@mkdir -p $(dir $@)
	@echo '#include <oneapi/dnnl/dnnl.h>' | $(CC) -E -x c - >/dev/null 2>&1 || \
	  { echo "clenc-bench-gemm needs oneDNN: apt-get install $(BENCH_DEB_PACKAGES) (make bench installs it)"; exit 1; }
	$(CC) $(ALLFLAGS) $$(pkg-config --cflags openblas) tools/bench-gemm.c \
	  tools/blas_peers.c $(TOOL_COMMON) $(B)/libclenc.a $(LIBS) \
	  $$(pkg-config --libs openblas) -ldnnl -lgomp -o $@

# -------------------------------------------------------------------- tests
$(TEST_BIN): $(TEST_SRC:%.c=$(B)/obj/%.o) $(B)/libclenc.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLFLAGS) $(filter %.o,$^) $(B)/libclenc.a $(LIBS) -lcunit -o $@

MODEL   := models/all-MiniLM-L6-v2
SAMPLES := "A man is eating food." "A man is eating a piece of bread." \
           "The new movie is awesome." "The cat plays in the garden." \
           "A woman watches TV." "The new movie is so great."

# `make test` and `make run` install what is missing first, then build in a
# fresh make so that pkg-config sees the packages just installed.
test: deps
	@tools/fetch-model.sh $(MODEL)
	@$(MAKE) --no-print-directory check

check: all $(TEST_BIN)
ifdef VALGRIND
	@for suite in $(VALGRIND_SUITES); do \
	  echo "valgrind: $$suite"; \
	  valgrind -q --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect \
	    --suppressions=tests/valgrind.supp $(TEST_BIN) $$suite || exit 1; \
	done
else
ifdef SANITIZE
	@# Mesa's Clover ICD leaks 128 bytes and is unloaded before LeakSanitizer
	@# looks, so no suppression can name it: sanitizer runs leave it out.
	@rm -rf $(B)/icd && mkdir -p $(B)/icd && \
	  for f in /etc/OpenCL/vendors/*.icd; do \
	    [ "$$(basename $$f)" = mesa.icd ] || cp $$f $(B)/icd/; done
endif
	$(RUN_ENV) $(TEST_BIN) $(TEST_STRICT)
	@# The bindings' struct layouts and clenc-serve (tests/python; under
	@# SANITIZE, the sanitized server); nothing written into the tree.
	CLENC_SERVE=$(CURDIR)/$(B)/bin/clenc-serve $(RUN_ENV) \
	  $(DEB_PYTHON) -B -m pytest -q -p no:cacheprovider tests/python
endif

# `make test-mpi`: clenc-run --input --output under mpirun, 2 and 3 ranks
# on this machine (tests/mpi): the file byte for byte a single process's,
# rows equal to --json's, a failing rank named and no file left. Needs the
# MPI build (make deps installs Open MPI). About 10 s here (2 cores).
.PHONY: test-mpi
test-mpi: deps
	@$(MAKE) --no-print-directory all
	CLENC_RUN=$(CURDIR)/$(B)/bin/clenc-run $(DEB_PYTHON) -B -m pytest -q \
	  -p no:cacheprovider tests/mpi

run: deps
	@tools/fetch-model.sh $(MODEL)
	@$(MAKE) --no-print-directory all
	$(B)/bin/clenc-run --model $(MODEL) --similarity $(SAMPLES)

# The benchmark's peers (ONNX Runtime, OpenVINO, PyTorch; pinned in
# tools/requirements-bench.txt) live in a git-ignored virtual environment;
# BENCH_VENV=/path reuses one that has them. The ONNX export and its
# optimised graph are cached in $(B)/bench/.
BENCH_VENV ?= .venv-bench
BENCH_ARGS ?=

bench: deps
	@$(MAKE) --no-print-directory deps DEB_PACKAGES='$(BENCH_DEB_PACKAGES)'
	@tools/fetch-model.sh $(MODEL)
	@$(MAKE) --no-print-directory all $(B)/bin/clenc-bench-gemm bench-venv
	$(BENCH_VENV)/bin/python tools/bench_peers.py --lib $(B)/libclenc.so \
	  --gemm-bench $(B)/bin/clenc-bench-gemm --onnx $(B)/bench/minilm.onnx \
	  --out $(B)/bench.json $(BENCH_ARGS)

# clenc_encode_cl in an application's pipeline against host round trips.
.PHONY: bench-interop
bench-interop: deps
	@tools/fetch-model.sh $(MODEL)
	@$(MAKE) --no-print-directory all $(B)/bin/clenc-bench-interop
	$(B)/bin/clenc-bench-interop --model $(MODEL) $(BENCH_ARGS)

# clenc-serve's throughput at saturation against clenc_embed_text offline on
# the same texts, and its latency at a fixed request rate
# (tools/bench_serve.py; Debian's Python, no PyPI). BENCH_ARGS passes options
# (--clients, --per-request, --rate, --serve-args).
.PHONY: bench-serve
bench-serve: deps
	@tools/fetch-model.sh $(MODEL)
	@$(MAKE) --no-print-directory all
	$(DEB_PYTHON) -B tools/bench_serve.py --serve $(B)/bin/clenc-serve \
	  --lib $(B)/libclenc.so --model $(MODEL) $(BENCH_ARGS)

.PHONY: bench-venv accuracy
bench-venv:
	@test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	@test $(BENCH_VENV)/.installed -nt tools/requirements-bench.txt || \
	  { echo "installing the benchmark's peers into $(BENCH_VENV) (PyPI; torch is large)"; \
	    $(BENCH_VENV)/bin/python -m pip install -q -r tools/requirements-bench.txt && \
	    touch $(BENCH_VENV)/.installed; }

# `make accuracy`: clenc's fp32, fp16 and int8 and ONNX Runtime's int8
# against sentence-transformers' fp32 on the parity texts and twenty more
# (tools/precision_accuracy.py): a Markdown table on stdout and
# $(B)/accuracy.json; fails when a floor of the reduced precisions is broken
# or a precision cannot be measured (ACCURACY_ARGS=--precisions fp32,fp16
# leaves one out). Shares the venv and the ONNX export with `make bench`.
ACCURACY_ARGS ?=

accuracy: deps
	@tools/fetch-model.sh $(MODEL)
	@$(MAKE) --no-print-directory all bench-venv
	$(BENCH_VENV)/bin/python tools/precision_accuracy.py --lib $(B)/libclenc.so \
	  --onnx $(B)/bench/minilm.onnx --out $(B)/accuracy.json $(ACCURACY_ARGS)

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "clenc needs these Debian packages; as root, run:"; \
	  echo "  apt-get update && apt-get install -y$$missing"; exit 1; \
	fi; \
	echo "installing:$$missing"; \
	for p in $$missing; do apt-cache show $$p >/dev/null 2>&1 || { apt-get update -q || exit 1; break; }; done; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing

# ------------------------------------------------------------------ install
install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(B)/libclenc.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/libclenc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libclenc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf libclenc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libclenc.so
	install -m 644 include/clenc.h include/clenc_cl.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: clenc\nDescription: Transformer encoders on any OpenCL device\nVersion: %s\nRequires.private: %s\nLibs: -L$${libdir} -lclenc\nLibs.private: -lstdc++ -lm -pthread\nCflags: -I$${includedir}\n' \
	  '$(PREFIX)' '$(VERSION)' '$(PKGS)' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/clenc.pc

# make lint: cppcheck, and the include rule between runtime's layers
# (build-aux/check-layers.sh; tests/python/test_layers.py shows it fails).
lint:
	build-aux/check-layers.sh
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --std=c11 --inline-suppr -Iinclude -Iruntime runtime tools tests

clean:
	rm -rf $(B)

# =================================================================== fuzzing
# `make fuzz`: libFuzzer targets (tests/fuzz/) for the parsers of untrusted
# input, built with clang, ASan and UBSan into $(B)/fuzz/, each run for
# FUZZ_SECONDS on its working corpus $(B)/fuzz/corpus-<target>, seeded from
# tests/fuzz/corpus/<target>; tests/fuzz/regressions/<target> is replayed
# too. A crash, a leak, a sanitizer report or a timeout fails the run and
# leaves the input in $(B)/fuzz/artifacts-<target>/. FUZZ_TARGETS picks a
# subset; `make -j2 fuzz` runs two at a time. Not in `make deps`: CI does not
# fuzz. Each target links only the runtime files it exercises.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= safetensors config tokenizer vocab container tokenizer_json \
                tokjson_text
FUZZ_CC      ?= $(firstword $(shell command -v clang-14 clang 2>/dev/null))
FUZZ_APT     := apt-get update && apt-get install -y clang-14 libclang-rt-14-dev
FUZZ_DIR      = $(B)/fuzz
FUZZ_CFLAGS   = -std=c11 $(filter-out -Werror,$(WARN)) -g -O1 \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -D_POSIX_C_SOURCE=200809L -DCL_TARGET_OPENCL_VERSION=120 \
                -Iinclude -Iruntime $(shell pkg-config --cflags jansson libutf8proc 2>/dev/null)
FUZZ_JANSSON  = $(shell pkg-config --libs jansson 2>/dev/null)
FUZZ_UTF8PROC = $(shell pkg-config --libs libutf8proc 2>/dev/null)
# The tokenizers (runtime/text/) read JSON and match with Oniguruma.
FUZZ_TEXT_LIBS = $(FUZZ_JANSSON) $(FUZZ_UTF8PROC) \
                 $(shell pkg-config --libs oniguruma 2>/dev/null)
FUZZ_BASE      := base/status base/util base/fault base/hash base/file base/abi
FUZZ_TOKENIZER := $(patsubst runtime/%.c,%,$(wildcard runtime/text/*.c)) \
                  $(FUZZ_BASE)

FUZZ_SRC_safetensors := formats/safetensors formats/safetensors_file $(FUZZ_BASE)
FUZZ_LIB_safetensors  = $(FUZZ_JANSSON)
FUZZ_SRC_container   := cl/container $(FUZZ_BASE)
FUZZ_SRC_tokenizer   := $(FUZZ_TOKENIZER)
FUZZ_LIB_tokenizer    = $(FUZZ_TEXT_LIBS)
FUZZ_SRC_vocab       := $(FUZZ_TOKENIZER)
FUZZ_LIB_vocab        = $(FUZZ_TEXT_LIBS)
FUZZ_SRC_tokenizer_json := $(FUZZ_TOKENIZER)
FUZZ_LIB_tokenizer_json  = $(FUZZ_TEXT_LIBS)
FUZZ_SRC_tokjson_text   := $(FUZZ_TOKENIZER)
FUZZ_LIB_tokjson_text    = $(FUZZ_TEXT_LIBS)
FUZZ_SRC_config      := formats/config formats/model_files formats/json \
                        $(FUZZ_TOKENIZER)
FUZZ_LIB_config       = $(FUZZ_TEXT_LIBS)
FUZZ_ARGS_safetensors := -dict=tests/fuzz/json.dict
FUZZ_ARGS_config      := -dict=tests/fuzz/json.dict
# Comparison tracing takes 65% of the tokenizer target's time (perf); with
# texts up to 4 KiB it ran 600 inputs/s, up to 1 KiB about 4000. Truncation
# is still reached, through the target's small max_len.
FUZZ_ARGS_tokenizer   := -max_len=1024
FUZZ_ARGS_vocab       := -max_len=4096
FUZZ_ARGS_tokenizer_json := -dict=tests/fuzz/json.dict -max_len=400000
FUZZ_ARGS_tokjson_text   := -max_len=1024

.PHONY: fuzz fuzz-build $(FUZZ_TARGETS:%=fuzz-run-%)

fuzz: $(FUZZ_TARGETS:%=fuzz-run-%)

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

# A program with libFuzzer's main must link: clang and libclang-rt are there.
$(FUZZ_DIR)/.toolchain:
	@mkdir -p $(FUZZ_DIR)
	@printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; return (int)(n & 0); }\n' > $(FUZZ_DIR)/probe.c
	@if [ -z "$(FUZZ_CC)" ] || ! $(FUZZ_CC) -fsanitize=fuzzer,address,undefined \
	     $(FUZZ_DIR)/probe.c -o $(FUZZ_DIR)/probe >/dev/null 2>&1; then \
	  echo "make fuzz needs clang and libFuzzer ($(if $(FUZZ_CC),$(FUZZ_CC) cannot link -fsanitize=fuzzer,no clang found)); as root, run:"; \
	  echo "  $(FUZZ_APT)"; exit 1; \
	fi
	@rm -f $(FUZZ_DIR)/probe $(FUZZ_DIR)/probe.c
	@touch $@

$(FUZZ_DIR)/obj/%.o: %.c | $(FUZZ_DIR)/.toolchain
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/tests/fuzz/%.o: tests/fuzz/%.c | $(FUZZ_DIR)/.toolchain
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DCLENC_FUZZ_VOCAB='"$(CURDIR)/tests/fixtures/minilm_vocab.txt"' \
	  -DCLENC_FUZZ_FIXTURES='"$(CURDIR)/tests/fixtures/tokjson"' \
	  -MMD -MP -c $< -o $@

define FUZZ_TARGET
$(FUZZ_DIR)/fuzz_$(1): $(FUZZ_DIR)/obj/tests/fuzz/fuzz_$(1).o \
    $(FUZZ_SRC_$(1):%=$(FUZZ_DIR)/obj/runtime/%.o)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) $$(filter %.o,$$^) $$(FUZZ_LIB_$(1)) -o $$@

fuzz-run-$(1): $(FUZZ_DIR)/fuzz_$(1)
	@mkdir -p $(FUZZ_DIR)/corpus-$(1) $(FUZZ_DIR)/artifacts-$(1)
	@cp tests/fuzz/corpus/$(1)/* $(FUZZ_DIR)/corpus-$(1)/
	@echo "fuzz_$(1): $(FUZZ_SECONDS) s, log in $(FUZZ_DIR)/fuzz_$(1).log"
	@log=$(FUZZ_DIR)/fuzz_$(1).log; \
	if $(FUZZ_DIR)/fuzz_$(1) -max_total_time=$(FUZZ_SECONDS) -timeout=25 \
	     -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/artifacts-$(1)/ \
	     $(FUZZ_ARGS_$(1)) $(FUZZ_DIR)/corpus-$(1) \
	     $(wildcard tests/fuzz/regressions/$(1)) >$$$$log 2>&1; then \
	  echo "fuzz_$(1): $$$$(grep -h '^Done ' $$$$log) | $$$$(grep -E '^#[0-9]+[[:space:]]+DONE' $$$$log | tail -n 1 | sed -E 's/^#[0-9]+[[:space:]]+DONE[[:space:]]+//')"; \
	else \
	  tail -n 60 $$$$log; \
	  echo "fuzz_$(1): FINDING: see $$$$log; the input is in $(FUZZ_DIR)/artifacts-$(1)/"; exit 1; \
	fi
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_TARGET,$(t))))

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
# =============================================================== end fuzzing

# ============================================================ implementations
# Kernels must be free of races and out-of-bounds accesses on every OpenCL
# implementation, not only on PoCL.
#
# `make test-oclgrind`: the `impl` suite (tests/test_impl.c: each kernel at
# small shapes in both families and with both GEMMs, then every kernel of
# the runtime's table launched by real encodes) under Oclgrind's simulator,
# with its API, out-of-bounds, data-race and uninitialised-value checks.
# Oclgrind reports and carries on: it has no flag that makes a report fatal,
# and each new OpenCL context truncates its --log file. So its reports are
# read from stderr, and any report fails the run. -cl-opt-disable: Oclgrind
# 21.10's uninitialised-value check stops at the `freeze` instructions of
# optimised code. About 5 minutes here (2 cores).
#
# `make test-rusticl`: the whole suite on Mesa's Rusticl, whose llvmpipe
# device is a CPU that runs work-groups GPU-style, in SIMD lanes. Tests that
# leave the kernel family to the default get the gpu family there: the cpu
# family's one-work-item groups fill one lane of eight, and a MiniLM pass of
# 1 x 64 tokens took 48.5 s in it against 8.8 s in the gpu family. Tests
# that name a family still run both. RUSTICL_TESTS narrows the run to
# suites or tests (SUITE or SUITE/TEST; empty: all), RUSTICL_SKIP leaves
# tests out (printed as skipped). The whole suite takes over half an hour
# on llvmpipe from a cold cache (its compiler is single-threaded, and the
# peak probes and tile sweeps run minutes each there), so CI runs the impl
# suite only: every kernel at awkward shapes in both families, then real
# encodes on every path, clenc_encode_cl's included (4 minutes cold).
OCLGRIND_FLAGS  := --check-api --data-races --uninitialized \
                   --build-options -cl-opt-disable
OCLGRIND_REPORT := '^[[:space:]]+Kernel: |Oclgrind|OCLGRIND'
# Beside the impl suite: the half-activation path, both families, against
# the reference rounding as the device does (Oclgrind simulates half; no
# device here has cl_khr_fp16). About 2 minutes here.
OCLGRIND_TESTS  := precision/test_precision_fp16_compute_matches_rounded_reference
RUSTICL_ENV     := RUSTICL_ENABLE=llvmpipe CLENC_DEVICE=llvmpipe \
                   CLENC_VARIANT=gpu

.PHONY: test-oclgrind test-rusticl oclgrind-deps

oclgrind-deps:
	@command -v oclgrind >/dev/null 2>&1 && exit 0; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "make test-oclgrind needs Oclgrind; as root, run:"; \
	  echo "  apt-get update && apt-get install -y oclgrind"; exit 1; \
	fi; \
	apt-cache show oclgrind >/dev/null 2>&1 || apt-get update -q || exit 1; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends oclgrind

test-oclgrind: deps oclgrind-deps
	@$(MAKE) --no-print-directory all $(TEST_BIN)
	@log=$(B)/oclgrind.log; start=$$(date +%s); \
	oclgrind $(OCLGRIND_FLAGS) $(TEST_BIN) impl $(OCLGRIND_TESTS) 2>$$log; rc=$$?; \
	cat $$log >&2; \
	echo "test-oclgrind: $$(($$(date +%s) - start)) s under Oclgrind"; \
	if grep -qE $(OCLGRIND_REPORT) $$log; then \
	  echo "test-oclgrind: Oclgrind reported errors (above, and in $$log)"; \
	  exit 1; \
	fi; \
	exit $$rc

test-rusticl: deps
	@tools/fetch-model.sh $(MODEL)
	@$(MAKE) --no-print-directory all $(TEST_BIN)
	$(RUSTICL_ENV) $(TEST_BIN) $(RUSTICL_TESTS) \
	  $(foreach t,$(RUSTICL_SKIP),--skip $(t))

# `make test-mutants`: can the kernel tests fail? tests/mutants.py breaks
# every kernel of the runtime's table and every probe kernel on purpose,
# once per family, in a temporary copy of cl_kernels/ (CLENC_KERNEL_DIR):
# one mutant returns at once, one leaves the first work-item's (or, where
# barriers are, the first work-group's) share of the output unwritten. Each
# runs the tests that launched its kernel in its family (measured by a
# usage pass of the kernel suites, clenc-tests --kernel-usage), cheapest
# first, until one fails; the table says which. A mutant that no test
# fails, or that does not build, fails the target. The list of mutants
# comes from `clenc-tests --list-kernels`: a new kernel is covered without
# editing anything. About 2½ minutes here (2 cores), a fresh build and
# PoCL's compiles of every mutant included; 40 s once PoCL's cache has them.
.PHONY: test-mutants
test-mutants: deps
	@$(MAKE) --no-print-directory all $(TEST_BIN)
	$(DEB_PYTHON) tests/mutants.py --tests $(TEST_BIN)
# ======================================================== end implementations

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
