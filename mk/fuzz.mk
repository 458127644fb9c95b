# mk/fuzz.mk: the decoder fuzz harness. `make check` replays it over seed modules and their
# mutations without libFuzzer; `make fuzz` builds the libFuzzer binary tests/fuzz/fuzz_decode
# (clang, ASan, UBSan; the library sources it needs are compiled with the same flags) and
# `make fuzz-run FUZZ_TIME=600` runs it on a corpus seeded from the decoder's fixtures.
# To fuzz the body compiler too: make fuzz FUZZ_DEFS=-DFUZZ_COMPILE
#   FUZZ_EXTRA_SRCS="$(top_srcdir)/lib/interp_compile.c ..." (the interpreter's sources).
check_PROGRAMS += tests/fuzz/fuzz_replay
TESTS += tests/fuzz/fuzz_replay
tests_fuzz_fuzz_replay_SOURCES = tests/fuzz/fuzz_replay.c tests/fuzz/fuzz_decode.c
tests_fuzz_fuzz_replay_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_SEED_DIR='"$(abs_top_builddir)/tests/wat"' -DFUZZ_SEED_PREFIX='"decode_"'
tests_fuzz_fuzz_replay_LDADD = lib/libwasmslot.a $(PTHREAD_LIBS)

FUZZ_CC = clang
FUZZ_FLAGS = -std=gnu11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_DEFS =
FUZZ_EXTRA_SRCS =
FUZZ_SRCS = \
	$(top_srcdir)/tests/fuzz/fuzz_decode.c \
	$(top_srcdir)/lib/wasm_decode.c \
	$(top_srcdir)/lib/wasm_validate.c \
	$(top_srcdir)/lib/wasm_module.c \
	$(top_srcdir)/lib/wasm_error.c
FUZZ_TIME = 60

tests/fuzz/fuzz_decode: $(FUZZ_SRCS) $(FUZZ_EXTRA_SRCS) config.h
	$(AM_V_CCLD)$(MKDIR_P) tests/fuzz && $(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_DEFS) $(AM_CPPFLAGS) \
	$(FUZZ_SRCS) $(FUZZ_EXTRA_SRCS) -o $@ -lm -pthread

fuzz: tests/fuzz/fuzz_decode

fuzz-run: tests/fuzz/fuzz_decode tests/wat/decode_full.wasm tests/wat/decode_shared.wasm \
	tests/wat/decode_min.wasm
	$(MKDIR_P) tests/fuzz/corpus
	cp tests/wat/decode_*.wasm tests/fuzz/corpus/
	./tests/fuzz/fuzz_decode -max_total_time=$(FUZZ_TIME) -print_final_stats=1 tests/fuzz/corpus

CLEANFILES += tests/fuzz/fuzz_decode
.PHONY: fuzz fuzz-run
