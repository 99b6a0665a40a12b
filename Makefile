# netdbg: `make demo` and `make check` work on a fresh Debian bookworm
# machine; missing packages are installed on demand (dumps/need-packages.sh),
# kernels and dumps are cached in $(NETDBG_CACHE), outside the repo.

NETDBG_CACHE ?= $(HOME)/.cache/netdbg
export NETDBG_CACHE
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= 2
PY3 := /usr/bin/python3
CRASH_EXT_DIR ?= /usr/lib/crash/extensions

BUILD_PACKAGES := g++ cmake make libfmt-dev nlohmann-json3-dev libcxxopts-dev libgtest-dev crash
TEST_PACKAGES := python3 python3-pytest

.PHONY: all build deps install demo check unit asan integration dumps clean

all: build

deps:
	@dumps/need-packages.sh $(BUILD_PACKAGES)

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

install: build
	install -d $(CRASH_EXT_DIR)
	install -m 0644 $(BUILD)/netdbg.so $(CRASH_EXT_DIR)/netdbg.so
	@echo "installed: crash> extend netdbg.so"

dumps:
	@dumps/make-dumps.sh

demo: install dumps
	@dumps/demo.sh

unit: build
	cd $(BUILD) && ctest --output-on-failure

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNETDBG_SANITIZE=ON -DNETDBG_CRASH=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS) --target netdbg_unit_tests
	cd $(ASAN_BUILD) && ctest --output-on-failure

integration: build dumps
	@dumps/need-packages.sh $(TEST_PACKAGES)
	cd tests/integration && NETDBG_BUILD=$(CURDIR)/$(BUILD) $(PY3) -m pytest -q

check: unit asan integration

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
