# netdbg: `make demo` and `make check` work on a fresh Debian bookworm
# machine; missing packages are installed on demand (dumps/need-packages.sh),
# kernels and dumps are cached in $(NETDBG_CACHE), outside the repo.

NETDBG_CACHE ?= $(HOME)/.cache/netdbg
export NETDBG_CACHE
BUILD ?= build
JOBS ?= 2
PY3 := /usr/bin/python3
CRASH_EXT_DIR ?= /usr/lib/crash/extensions
BIN_DIR ?= /usr/local/bin

# gdb and python3-dev: the gdb front end is built against the Python gdb embeds.
BUILD_PACKAGES := g++ cmake make pkg-config python3 libfmt-dev nlohmann-json3-dev libcxxopts-dev libgtest-dev libdw-dev libtraceevent-dev crash gdb python3-dev
TEST_PACKAGES := python3 python3-pytest python3-pytest-xdist python3-drgn python3-jsonschema graphviz trace-cmd
FUZZ_PACKAGES := clang libclang-rt-14-dev
FUZZ_BUILD ?= build-fuzz
FUZZ_TARGETS := fuzz_list fuzz_sched fuzz_net fuzz_workq fuzz_ftrace fuzz_waits

.PHONY: all build deps install demo check unit asan integration crash matrix dumps bench clean fuzz fuzz-config fuzz-build fuzz-short

all: build

deps:
	@dumps/need-packages.sh $(BUILD_PACKAGES)

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DNETDBG_CRASH_VERSIONS=$$(dumps/crash-versions.sh cmake)" >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

install: build
	install -d $(CRASH_EXT_DIR)
	install -m 0644 $(BUILD)/netdbg.so $(CRASH_EXT_DIR)/netdbg.so
	install -d $(BIN_DIR)
	install -m 0755 tools/netdbg-report tools/netdbg-triage $(BIN_DIR)/
	@echo "installed: crash> extend netdbg.so; netdbg-report and netdbg-triage in $(BIN_DIR)"

dumps:
	@dumps/make-dumps.sh

demo: install dumps
	@dumps/demo.sh

unit: build
	cd $(BUILD) && ctest --output-on-failure

# The unit tests under ASan/UBSan, in one process (ctest would start one per
# test, each paying ASan's start-up: 2 minutes in all). They are built in the
# fuzz build, whose core is compiled with ASan and UBSan for the fuzz targets
# anyway: a second sanitized build of the core cost `make check` 8 minutes.
asan: fuzz-config
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target netdbg_unit_tests
	cd $(FUZZ_BUILD) && ./netdbg_unit_tests --gtest_brief=1

# Test files in parallel, JOBS at a time (crash and gdb are single-threaded);
# a file's module fixtures (one crash session per file) stay in one worker.
integration: build dumps
	@dumps/need-packages.sh $(TEST_PACKAGES)
	cd tests/integration && NETDBG_BUILD=$(CURDIR)/$(BUILD) $(PY3) -m pytest -q -n $(JOBS) --dist loadfile

# The crash versions builds.conf names besides the one on PATH (8.0.6 for
# the 6.12 build: about 1,040 CPU seconds, once; then cached), and netdbg.so
# for each (build/crash-VERSION/netdbg.so: cmake sees their defs.h now).
crash: build
	@for v in $$(dumps/crash-versions.sh to-build); do dumps/build-crash.sh $$v || exit 1; done
	@cmake -S . -B $(BUILD) "-DNETDBG_CRASH_VERSIONS=$$(dumps/crash-versions.sh cmake)" >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The other kernel builds of dumps/builds.conf and the real kdumps: their
# dumps and the tests of their scenarios (tests/run-matrix.sh).
matrix: crash dumps
	@dumps/need-packages.sh $(TEST_PACKAGES)
	@JOBS=$(JOBS) tests/run-matrix.sh $(CURDIR)/$(BUILD)

# Each stage timed; the table is printed at the end (tests/check-stages.sh).
# The crash versions to build (8.0.6: 1,040 CPU seconds) start at once
# in the background at low priority, filling what the compiles leave idle
# (gdb's configure steps are serial); the `crash` stage waits for them.
# After deps: the two would install packages at the same time.
check: deps
	@for v in $$(dumps/crash-versions.sh to-build); do \
		mkdir -p $(NETDBG_CACHE); \
		(nice -n 19 dumps/build-crash.sh $$v > $(NETDBG_CACHE)/crash-$$v.build.log 2>&1 &) ; done
	@MAKE="$(MAKE)" tests/check-stages.sh build unit asan fuzz-short dumps integration crash matrix

# libFuzzer on fuzzed memory images (tests/fuzz/): a short run in `make
# check`, the long one (FUZZ_RUNS executions per target) is `make fuzz`.
FUZZ_RUNS ?= 1000000
fuzz-config: deps
	@dumps/need-packages.sh $(FUZZ_PACKAGES)
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=None \
		"-DCMAKE_CXX_FLAGS=-O1 -gline-tables-only" -DNETDBG_FUZZ=ON -DNETDBG_CRASH=OFF -DNETDBG_GDB=OFF >/dev/null

fuzz-build: fuzz-config
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target $(FUZZ_TARGETS)

fuzz-short: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_BUILD) 20000 $(FUZZ_TARGETS)

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_RUNS) $(FUZZ_TARGETS)

# netdbg vs crash and drgn on the scale dump (built on first use, ~20 min, then
# cached; never built by `make dumps`/`make check`). See bench/run.py.
# Both parts run even when the first misses a target (it then exits 1).
bench: build
	@dumps/need-packages.sh python3 python3-drgn util-linux trace-cmd
	@$(PY3) bench/run.py --build $(CURDIR)/$(BUILD); a=$$?; \
	$(PY3) bench/ftrace.py --build $(CURDIR)/$(BUILD); b=$$?; exit $$((a | b))

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
