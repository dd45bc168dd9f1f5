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
                python3-venv unzip libopenblas-dev

PKGS     := OpenCL clblast jansson libutf8proc
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
ALLFLAGS  = -std=c11 $(WARN) $(CFLAGS) -pthread -D_POSIX_C_SOURCE=200809L \
            -DCL_TARGET_OPENCL_VERSION=120 -Iinclude -Iruntime $(PKG_CFLAGS)
LIBS      = $(PKG_LIBS) -lstdc++ -lm -pthread

RUNTIME_SRC := $(wildcard runtime/*.c)
KERNELS     := $(sort $(wildcard cl_kernels/*.cl cl_kernels/*.h))
LIB_OBJ     := $(RUNTIME_SRC:%.c=$(B)/obj/%.o) $(B)/obj/kernels_embedded.o
TOOL_NAMES  := clenc-info clenc-run clenc-prof clenc-bench clenc-compile
TOOLS       := $(TOOL_NAMES:%=$(B)/bin/%)
TOOL_COMMON := $(B)/obj/tools/cli.o
TEST_SRC    := $(wildcard tests/*.c)
TEST_BIN    := $(B)/bin/clenc-tests
SONAME      := libclenc.so.$(SOVERSION)

.PHONY: all deps run test check bench install clean lint
.DELETE_ON_ERROR:
.SECONDARY:

all: $(B)/libclenc.a $(B)/libclenc.so $(TOOLS)

# ------------------------------------------------------------------ library
$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLFLAGS) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

$(B)/embed_kernels: tools/embed_kernels.c
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
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined $^ $(LIBS) -o $@

$(B)/libclenc.so: $(B)/libclenc.so.$(VERSION)
	ln -sf libclenc.so.$(VERSION) $(B)/$(SONAME)
	ln -sf libclenc.so.$(VERSION) $@

# -------------------------------------------------------------------- tools
$(B)/bin/%: $(B)/obj/tools/%.o $(TOOL_COMMON) $(B)/libclenc.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLFLAGS) $< $(TOOL_COMMON) $(B)/libclenc.a $(LIBS) -o $@

# The GEMM benchmark uses the runtime's internal headers and OpenBLAS.
$(B)/bin/clenc-bench-gemm: tools/bench-gemm.c $(TOOL_COMMON) $(B)/libclenc.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLFLAGS) $$(pkg-config --cflags openblas) $< $(TOOL_COMMON) \
	  $(B)/libclenc.a $(LIBS) $$(pkg-config --libs openblas) -o $@

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
	$(TEST_BIN)

run: deps
	@tools/fetch-model.sh $(MODEL)
	@$(MAKE) --no-print-directory all
	$(B)/bin/clenc-run --model $(MODEL) --similarity $(SAMPLES)

# The benchmark's peers (ONNX Runtime, PyTorch) live in a git-ignored
# virtual environment; BENCH_VENV=/path reuses one that has them.
BENCH_VENV ?= .venv-bench
BENCH_ARGS ?=

bench: deps
	@tools/fetch-model.sh $(MODEL)
	@$(MAKE) --no-print-directory all $(B)/bin/clenc-bench-gemm
	@test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	@test $(BENCH_VENV)/.installed -nt tools/requirements-bench.txt || \
	  { echo "installing the benchmark's peers into $(BENCH_VENV) (PyPI; torch is large)"; \
	    $(BENCH_VENV)/bin/python -m pip install -q -r tools/requirements-bench.txt && \
	    touch $(BENCH_VENV)/.installed; }
	$(BENCH_VENV)/bin/python tools/bench_peers.py --out $(B)/bench.json $(BENCH_ARGS)

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
	install -m 644 include/clenc.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: clenc\nDescription: Transformer encoders on any OpenCL device\nVersion: %s\nRequires.private: %s\nLibs: -L$${libdir} -lclenc\nLibs.private: -lstdc++ -lm -pthread\nCflags: -I$${includedir}\n' \
	  '$(PREFIX)' '$(VERSION)' '$(PKGS)' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/clenc.pc

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --std=c11 --inline-suppr -Iinclude -Iruntime runtime tools tests

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
