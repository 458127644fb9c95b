# mk/fuzz.mk: the decoder fuzz harness. `make check` replays it over seed modules and their
# mutations without libFuzzer. `make fuzz` builds the libFuzzer binary tests/fuzz/fuzz_decode
# (clang with ASan and UBSan; the decoder sources it needs are compiled with the same flags, not
# taken from libwasmslot.a); `make fuzz-compile` builds tests/fuzz/fuzz_compile, the same
# harness built with -DFUZZ_COMPILE against every library source so that the body compiler is
# fuzzed too. `make fuzz-run FUZZ_TIME=600` runs fuzz_decode on a corpus seeded from the
# decoder's fixtures (FUZZ_TARGET=fuzz_compile for the other one).
check_PROGRAMS += tests/fuzz/fuzz_replay
TESTS += tests/fuzz/fuzz_replay
tests_fuzz_fuzz_replay_SOURCES = tests/fuzz/fuzz_replay.c tests/fuzz/fuzz_decode.c
tests_fuzz_fuzz_replay_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_SEED_DIR='"$(abs_top_builddir)/tests/wat"' -DFUZZ_SEED_PREFIX='"decode_"'
tests_fuzz_fuzz_replay_LDADD = lib/libwasmslot.a $(PTHREAD_LIBS)

FUZZ_CC = clang
FUZZ_FLAGS = -std=gnu11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_HARNESS = $(top_srcdir)/tests/fuzz/fuzz_decode.c
FUZZ_DECODER_SRCS = \
	$(top_srcdir)/lib/format/decode.c \
	$(top_srcdir)/lib/format/validate.c \
	$(top_srcdir)/lib/format/module.c \
	$(top_srcdir)/lib/format/error.c
FUZZ_TIME = 60
FUZZ_TARGET = fuzz_decode

tests/fuzz/fuzz_decode: $(FUZZ_HARNESS) $(FUZZ_DECODER_SRCS) config.h
	$(AM_V_CCLD)$(MKDIR_P) tests/fuzz && $(FUZZ_CC) $(FUZZ_FLAGS) $(AM_CPPFLAGS) \
	$(FUZZ_HARNESS) $(FUZZ_DECODER_SRCS) -o $@ -lm -pthread

# The compiler needs most of the runtime, so this one takes the whole library's C sources.
tests/fuzz/fuzz_compile: $(FUZZ_HARNESS) $(lib_libwasmslot_a_SOURCES) config.h
	$(AM_V_CCLD)$(MKDIR_P) tests/fuzz && \
	srcs=`for f in $(lib_libwasmslot_a_SOURCES); do \
	  case $$f in *.c) echo $(top_srcdir)/$$f;; esac; done` && \
	$(FUZZ_CC) $(FUZZ_FLAGS) -DFUZZ_COMPILE $(AM_CPPFLAGS) $(FUZZ_HARNESS) $$srcs \
	-o $@ -lm -pthread

fuzz: tests/fuzz/fuzz_decode
fuzz-compile: tests/fuzz/fuzz_compile

fuzz-run: tests/fuzz/$(FUZZ_TARGET) tests/wat/decode_full.wasm tests/wat/decode_shared.wasm \
	tests/wat/decode_min.wasm
	$(MKDIR_P) tests/fuzz/corpus
	cp tests/wat/decode_*.wasm tests/fuzz/corpus/
	./tests/fuzz/$(FUZZ_TARGET) -max_total_time=$(FUZZ_TIME) -timeout=10 \
	-print_final_stats=1 tests/fuzz/corpus

CLEANFILES += tests/fuzz/fuzz_decode tests/fuzz/fuzz_compile
.PHONY: fuzz fuzz-compile fuzz-run
