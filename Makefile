# Top-level entry points; see README.md. Each target runs the idempotent set-up first.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all setup build demo test bench asan fuzz clean

all: build

setup:
	@scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

# The interop tests run ONNX Runtime (onnxruntime-node, installed into $(BUILD)/ort).
test: build
	@scripts/ort_setup.sh $(BUILD)
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@scripts/bench.sh $(BUILD)

asan: setup
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOWBIT_SANITIZE=ON -DLOWBIT_BUILD_BENCH=OFF >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@scripts/ort_setup.sh build-asan
	@cd build-asan && ctest --output-on-failure -j $(JOBS)

fuzz: setup
	@scripts/fuzz.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
