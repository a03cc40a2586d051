# w3voipd — two commands on a fresh Debian 12 machine (as root):
#   make run    install what is missing, build, create the demo database, serve it
#   make test   install what is missing, build, run every test (formatting,
#               normal build, ASan+UBSan build, unit tests under valgrind)
# Other targets: make build, make bench, make fuzz, make format, make clean.

SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
VAR ?= var
LISTEN ?= 127.0.0.1:8080

DEBS := build-essential meson ninja-build pkg-config python3 \
        libevent-dev libsqlite3-dev sqlite3 libxml2-dev libxml2-utils \
        libjwt-dev libjansson-dev libssl-dev openssl valgrind curl clang-format

.PHONY: deps build build-asan run test test-normal test-asan test-valgrind format-check format bench fuzz clean

# Installs only what is missing (apt-get update first, as a fresh machine needs).
deps:
	@missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root (or install:$$missing)"; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# promtool (to validate /metrics in the tests) without installing Debian's
# prometheus package, whose postinst would start a Prometheus server.
.tools/promtool:
	@mkdir -p .tools/dl
	cd .tools/dl && (apt-get download prometheus >/dev/null 2>&1 || (apt-get update -qq && apt-get download prometheus))
	dpkg-deb -x .tools/dl/prometheus_*.deb .tools/dl/x
	cp .tools/dl/x/usr/bin/promtool .tools/promtool
	rm -rf .tools/dl

$(BUILD)/build.ninja:
	meson setup $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

run: build
	@mkdir -p $(VAR)
	@if [ ! -s $(VAR)/jwt.key ]; then head -c 48 /dev/urandom | base64 > $(VAR)/jwt.key; chmod 600 $(VAR)/jwt.key; fi
	@if [ ! -s $(VAR)/fs.cred ]; then echo "fsnode:$$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" > $(VAR)/fs.cred; chmod 600 $(VAR)/fs.cred; fi
	@rm -f $(VAR)/demo.db $(VAR)/demo.db-wal $(VAR)/demo.db-shm
	@$(BUILD)/w3voip init --db $(VAR)/demo.db
	@sqlite3 $(VAR)/demo.db < fixtures/demo.sql
	@echo
	@echo "Demo database: $(VAR)/demo.db (tenants tenantA.edvoip.it and tenantB.edvoip.it)"
	@echo "Point FreeSWITCH at it (see freeswitch-conf/README.md), in xml_curl.conf.xml:"
	@echo "  <param name=\"gateway-url\" value=\"http://$(LISTEN)/fs/xml\" bindings=\"directory|dialplan\"/>"
	@echo "  <param name=\"gateway-credentials\" value=\"$$(cat $(VAR)/fs.cred)\"/>"
	@echo "  <param name=\"auth-scheme\" value=\"basic\"/>  <param name=\"timeout\" value=\"2\"/>"
	@echo "SIP demo users: 100@tenantA.edvoip.it / pass100A, 101 / pass101A, 200 / pass200A,"
	@echo "                100@tenantB.edvoip.it / pass100B"
	@echo "API token:      $(BUILD)/w3voip token --key $(VAR)/jwt.key --platform --client-id ops"
	@echo "Try:            curl -u $$(cat $(VAR)/fs.cred) --data-binary @fixtures/captures/directory-sip_auth-register.form http://$(LISTEN)/fs/xml"
	@echo
	exec $(BUILD)/w3voipd --db $(VAR)/demo.db --jwt-key $(VAR)/jwt.key \
	  --fs-credentials-file $(VAR)/fs.cred --listen $(LISTEN)

test-normal: build
	meson test -C $(BUILD) --print-errorlogs --num-processes 2

test-asan: build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 2 --timeout-multiplier 3

test-valgrind: build
	meson test -C $(BUILD) --suite unit --setup valgrind --print-errorlogs --num-processes 2

# Every .c/.h of the tree (tests, bench and fuzz included) as .clang-format
# wants it; only build folders and the fuzz corpora are left out.
FORMAT_FILES = git ls-files --cached --others --exclude-standard -- '*.c' '*.h' ':!:tests/fuzz/corpus/*' ':!:build*/*'

format-check: deps
	@files=$$($(FORMAT_FILES)); \
	if clang-format --style=file --dry-run -Werror $$files; then \
	  echo "format-check: $$(echo $$files | wc -w) files formatted as .clang-format says"; \
	else echo "format-check: run 'make format' (clang-format -i) and commit"; exit 1; fi

format: deps
	clang-format --style=file -i $$($(FORMAT_FILES))

# Runs all of them even when one fails, then prints one summary line.
test: deps .tools/promtool
	@rc=0; \
	$(MAKE) --no-print-directory format-check || rc=1; \
	$(MAKE) --no-print-directory test-normal || rc=1; \
	$(MAKE) --no-print-directory test-asan || rc=1; \
	$(MAKE) --no-print-directory test-valgrind || rc=1; \
	python3 tests/summary.py $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json \
	  $(BUILD)/meson-logs/testlog-valgrind.json || rc=1; \
	exit $$rc

# The benchmark (not a test): writes bench-results.md; see tests/bench/README.md.
bench: build
	@command -v wrk >/dev/null || (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq wrk)
	@command -v perf >/dev/null || (export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq linux-perf >/dev/null 2>&1 || true)
	bash tests/bench/run.sh $(BUILD)

# Bounded libFuzzer runs of every target (clang build in build-fuzz).
fuzz: deps
	@command -v clang >/dev/null && dpkg-query -W -f='$${Status}' libclang-rt-14-dev 2>/dev/null | grep -q 'install ok installed' || \
	  (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq clang libclang-rt-14-dev)
	bash tests/fuzz/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
