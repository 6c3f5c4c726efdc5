# The two commands of the README, plus developer conveniences. CMake + Ninja do the building.
PRESET ?= release
DATA ?= $(CURDIR)/out/run
JOBS ?= $(shell nproc)

.PHONY: all deps build run test test-tsan test-release bench fuzz format lint clean

all: build

# Installs what botscope needs from Debian (as root; skipped when already present).
deps:
	@bash tools/install-deps.sh

build: deps
	cmake --preset $(PRESET) >/dev/null
	cmake --build build/$(PRESET) -j $(JOBS)

# The main job on the embedded default store: simulate a world, replay its exports through the
# collector into the store, and summarise what was stored.
run: build
	@bash tools/run-demo.sh build/$(PRESET)/src/cli/botscope $(DATA)

# The whole test suite under ASan+UBSan (what CI runs), then the threaded collector under
# ThreadSanitizer: only the targets its tests need are built, and only the tests labelled
# "tsan" run (the live collector's integration tests and the ring/collector unit tests).
test: deps
	cmake --preset asan >/dev/null
	cmake --build build/asan -j $(JOBS)
	bash tools/lint.sh
	ctest --preset asan -j $(JOBS)
	$(MAKE) test-tsan

test-tsan: deps
	cmake --preset tsan >/dev/null
	cmake --build build/tsan -j $(JOBS) --target botscope test_ring test_collect
	ctest --preset tsan -j $(JOBS)

test-release: build
	ctest --preset release -j $(JOBS)

bench: build
	bash bench/run.sh build/$(PRESET)/src/cli/botscope

fuzz: deps
	cmake --preset fuzz >/dev/null
	cmake --build build/fuzz -j $(JOBS)
	bash fuzz/run.sh build/fuzz $(or $(SECONDS),60)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	bash tools/lint.sh

clean:
	rm -rf build out
