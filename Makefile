# leadrouter -- build, test, demo, benchmarks.
#
#   make            release build: build/rel/leadrouter
#   make test       installs missing Debian packages, builds with ASan+UBSan,
#                   runs unit tests, fuzz corpus replays and e2e tests
#   make demo       routes examples/leads.jsonl with examples/routing.yaml
#   make bench-engine   engine and `leadrouter route` throughput
#   make bench-server   `leadrouter serve`: leads/s and latency over HTTP (wrk)
#                   then bench/run-delivery: what a webhook on every decision costs
#   make bench      side by side: leadrouter vs do-it-yourself SQL routers on
#                   PostgreSQL and SQLite, and the disk's fsync rate
#   make fuzz       libFuzzer builds of the fuzz targets (clang)

CC      ?= cc
PKGS    := libfyaml jansson yajl libsodium sqlite3 libzstd libmicrohttpd icu-uc icu-i18n libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
BASE    := -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(WARN) $(PKG_CFLAGS)
# The release build's malloc is gperftools' tcmalloc (its README asks for
# the -fno-builtin flags): per-thread caches for every size, where glibc's
# arenas made the server's HTTP threads, which allocate what the writer
# frees and free what it allocated, spend a fifth of its CPU in malloc
# (docs/benchmarks.md, "The allocator"). Linked even though no symbol of
# it is named. The test build keeps glibc's (ASan brings its own), and so
# do the in-process benchmark programs, whose memory figures are glibc's
# mallinfo2(), which tcmalloc does not have.
REL_CFLAGS  := $(BASE) -O2 -g -DNDEBUG -fno-builtin-malloc -fno-builtin-calloc \
               -fno-builtin-realloc -fno-builtin-free
TEST_CFLAGS := $(BASE) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined
LIBS    := $(PKG_LIBS) -lpthread -lm
REL_LIBS := $(LIBS) -Wl,--push-state,--no-as-needed -ltcmalloc_minimal -Wl,--pop-state

LIB_SRC  := $(sort $(wildcard src/core/*.c src/core/strategies/*.c src/store/*.c src/server/*.c \
                               src/delivery/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))

REL_OBJ  := $(LIB_SRC:%.c=build/rel/%.o)
TEST_OBJ := $(LIB_SRC:%.c=build/test/%.o)
REL_CLI_OBJ  := $(CLI_SRC:%.c=build/rel/%.o)
TEST_CLI_OBJ := $(CLI_SRC:%.c=build/test/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/test/unit/%)
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/test/replay/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=build/rel/bench/%)

.PHONY: all deps test unit e2e demo clean fuzz bench-engine bench
all: build/rel/leadrouter

deps:
	@scripts/install-deps

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -MMD -MP -c $< -o $@
build/test/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -MMD -MP -c $< -o $@

build/rel/liblr.a: $(REL_OBJ)
	@rm -f $@; ar rcs $@ $^
build/test/liblr.a: $(TEST_OBJ)
	@rm -f $@; ar rcs $@ $^

build/rel/leadrouter: $(REL_CLI_OBJ) build/rel/liblr.a
	$(CC) $(REL_CFLAGS) -o $@ $^ $(REL_LIBS)
build/test/leadrouter: $(TEST_CLI_OBJ) build/test/liblr.a
	$(CC) $(TEST_CFLAGS) -o $@ $^ $(LIBS)

build/test/unit/%: tests/unit/%.c build/test/liblr.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -Itests/unit -o $@ $< build/test/liblr.a $(LIBS)

build/test/replay/%: tests/fuzz/%.c tests/fuzz/replay.c build/test/liblr.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< tests/fuzz/replay.c build/test/liblr.a $(LIBS)

build/rel/bench/%: bench/%.c build/rel/liblr.a
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -Ibench -o $@ $< build/rel/liblr.a $(LIBS)

test: deps
	@$(MAKE) --no-print-directory build/test/leadrouter $(UNIT_BIN) $(REPLAY_BIN) build/rel/leadrouter
	@tests/run-all

demo: deps
	@$(MAKE) --no-print-directory build/rel/leadrouter
	@scripts/demo

bench-engine: deps
	@$(MAKE) --no-print-directory build/rel/leadrouter $(BENCH_BIN)
	@bench/run-engine

.PHONY: bench-server
bench-server: deps
	@$(MAKE) --no-print-directory build/rel/leadrouter build/rel/bench/bench_fsync build/rel/bench/bench_receiver
	@BENCH_SERVER_ROUNDS=$${BENCH_SERVER_ROUNDS:-3} bench/run-server
	@BENCH_ROUNDS=$${BENCH_ROUNDS:-3} bench/run-delivery

bench:
	@scripts/install-deps bench
	@$(MAKE) --no-print-directory build/rel/leadrouter $(BENCH_BIN)
	@bench/run-all

FUZZ_CC := clang
FUZZ_FLAGS := $(BASE) -O1 -g -fsanitize=fuzzer,address,undefined
fuzz: deps
	@mkdir -p build/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "$(FUZZ_CC) $$f -> build/fuzz/$$n"; \
	  $(FUZZ_CC) $(FUZZ_FLAGS) -o build/fuzz/$$n $$f $(LIB_SRC) $(LIBS) || exit 1; done

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
