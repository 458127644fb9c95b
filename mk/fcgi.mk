# mk/fcgi.mk: the FastCGI responder's tests and benchmark: WASI CGI handlers written in C,
# the FastCGI reader's fuzz target (replayed over its seed corpus by `make check`), end-to-end
# tests against a real wasmslotd (raw FastCGI, and through a real nginx), and bench-fastcgi.

# The FastCGI record reader and writer, and the CGI response check, on known vectors.
check_PROGRAMS += tests/check_fcgi_wire
TESTS += tests/check_fcgi_wire
tests_check_fcgi_wire_SOURCES = tests/check_fcgi_wire.c proto/fcgi_wire.c
tests_check_fcgi_wire_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_fcgi_wire_LDADD = $(CHECK_LIBS) $(PTHREAD_LIBS)

# The fuzz harness over the FastCGI reader, replayed without libFuzzer over the seeds of
# tests/fuzz/fcgi/ and their truncations and bit flips.
check_PROGRAMS += tests/fuzz/fuzz_fcgi_replay
TESTS += tests/fuzz/fuzz_fcgi_replay
tests_fuzz_fuzz_fcgi_replay_SOURCES = tests/fuzz/fuzz_replay.c tests/fuzz/fuzz_fcgi.c \
	proto/fcgi_wire.c
tests_fuzz_fuzz_fcgi_replay_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_SEED_DIR='"$(abs_top_srcdir)/tests/fuzz/fcgi"' -DFUZZ_SEED_PREFIX='""' \
	-DFUZZ_SEED_SUFFIX='".fcgi"'
FCGI_FUZZ_SEEDS = tests/fuzz/fcgi/get.fcgi tests/fuzz/fcgi/post_padded.fcgi \
	tests/fuzz/fcgi/get_values.fcgi tests/fuzz/fcgi/mux_abort.fcgi \
	tests/fuzz/fcgi/long_pair.fcgi tests/fuzz/fcgi/cgi_response.fcgi
EXTRA_DIST += $(FCGI_FUZZ_SEEDS)

# `make fuzz-fcgi` builds the libFuzzer binary; `make fuzz-fcgi-run FUZZ_TIME=600` runs it on
# a corpus seeded from tests/fuzz/fcgi/.
tests/fuzz/fuzz_fcgi: $(top_srcdir)/tests/fuzz/fuzz_fcgi.c $(top_srcdir)/proto/fcgi_wire.c config.h
	$(AM_V_CCLD)$(MKDIR_P) tests/fuzz && $(FUZZ_CC) $(FUZZ_FLAGS) $(AM_CPPFLAGS) \
	$(top_srcdir)/tests/fuzz/fuzz_fcgi.c $(top_srcdir)/proto/fcgi_wire.c -o $@
fuzz-fcgi: tests/fuzz/fuzz_fcgi
fuzz-fcgi-run: tests/fuzz/fuzz_fcgi
	$(MKDIR_P) tests/fuzz/fcgi_corpus
	cp $(top_srcdir)/tests/fuzz/fcgi/*.fcgi tests/fuzz/fcgi_corpus/
	./tests/fuzz/fuzz_fcgi -max_total_time=$(FUZZ_TIME) -timeout=10 -print_final_stats=1 \
	tests/fuzz/fcgi_corpus
CLEANFILES += tests/fuzz/fuzz_fcgi
.PHONY: fuzz-fcgi fuzz-fcgi-run

# CGI handlers as users would write them, compiled with the WASI libc.
FCGI_PROGS_SRC = \
	tests/fcgi/cgi_echo.c \
	tests/fcgi/cgi_json.c \
	tests/fcgi/cgi_notfound.c \
	tests/fcgi/cgi_trap.c \
	tests/fcgi/cgi_hello.c \
	tests/fcgi/cgi_bad.c \
	tests/fcgi/cgi_spin.c \
	tests/fcgi/cgi_slow.c
EXTRA_DIST += $(FCGI_PROGS_SRC) tests/e2e/fcgilib.py tests/e2e/nginxlib.py

# Raw FastCGI against a real daemon (tests/e2e/test_fastcgi.py), and a real nginx in front of
# one and two daemons (tests/e2e/test_nginx.py; SKIP without nginx).
FCGI_E2E = tests/e2e/test_fastcgi.py tests/e2e/test_nginx.py
TESTS += $(FCGI_E2E)
EXTRA_DIST += $(FCGI_E2E) tests/bench/fastcgi_bench.py

if HAVE_WASM_CC
FCGI_PROGS = $(FCGI_PROGS_SRC:.c=.wasm)
noinst_DATA += $(FCGI_PROGS)
check_DATA += $(FCGI_PROGS)
CLEANFILES += $(FCGI_PROGS)
tests/fcgi/cgi_echo.wasm: tests/fcgi/cgi_echo.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/fcgi/cgi_echo.c
tests/fcgi/cgi_json.wasm: tests/fcgi/cgi_json.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/fcgi/cgi_json.c
tests/fcgi/cgi_notfound.wasm: tests/fcgi/cgi_notfound.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/fcgi/cgi_notfound.c
tests/fcgi/cgi_trap.wasm: tests/fcgi/cgi_trap.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/fcgi/cgi_trap.c
tests/fcgi/cgi_hello.wasm: tests/fcgi/cgi_hello.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/fcgi/cgi_hello.c
tests/fcgi/cgi_bad.wasm: tests/fcgi/cgi_bad.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/fcgi/cgi_bad.c
tests/fcgi/cgi_spin.wasm: tests/fcgi/cgi_spin.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/fcgi/cgi_spin.c
tests/fcgi/cgi_slow.wasm: tests/fcgi/cgi_slow.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/fcgi/cgi_slow.c
endif

# nginx in front of wasmslotd, the WASI hello handler against nginx serving a static file and
# against php-fpm's hello (wrk as the load generator); never part of `make check`.
bench: daemon/wasmslotd$(EXEEXT) $(FCGI_PROGS)
bench-fastcgi: daemon/wasmslotd$(EXEEXT) $(FCGI_PROGS)
	python3 $(top_srcdir)/tests/bench/fastcgi_bench.py
.PHONY: bench-fastcgi
