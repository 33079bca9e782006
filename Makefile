# softap-web. A new user needs two commands:
#   make demo   build everything and start the demo
#   make test   run every test
# Both install what they need (scripts/setup.sh).

SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help setup pkg device-page demo test test-native test-browser bench fuzz clean

help:
	@echo "make demo    build pkg/ and the simulator, and start the simulator"
	@echo "make test    every test: native, then in headless Chromium"
	@echo "make bench   size and speed figures, as 'name: value' lines"
	@echo "make device-page DEVICE_PAGE='--allow-origin https://your.site [--product NAME] [--lang en,de]'"
	@echo "             the page a device serves, and its firmware handler (target/device-page/)"
	@echo "make fuzz    a short run of every fuzz target (nightly Rust)"

setup:
	@scripts/setup.sh

pkg: setup
	@scripts/build-pkg.sh

device-page:
	@node scripts/device-page.mjs $(DEVICE_PAGE)

demo: pkg
	@scripts/demo.sh

test: setup
	@scripts/test.sh

test-native: setup
	@source .tools/env && $$CARGO test --workspace

test-browser: setup
	@scripts/test-browser.sh

bench: pkg
	@scripts/bench.sh

fuzz:
	@scripts/fuzz.sh

clean:
	rm -rf target pkg fuzz/target
