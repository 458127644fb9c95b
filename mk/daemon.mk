# mk/daemon.mk: build rules of wasmslotd, its example modules, docs and end-to-end tests
# (the protocol/client section between the markers belongs to the protocol engineer).

# --- proto/client begin
# The wire protocol library, shared by wasmslotd and the wasmslot client (proto/PROTOCOL.md).
noinst_LIBRARIES += proto/libwasmslot_proto.a
proto_libwasmslot_proto_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) -O2
proto_libwasmslot_proto_a_SOURCES = \
	proto/proto.h \
	proto/proto.c \
	proto/proto_fast.c \
	proto/proto_value.c \
	proto/proto_module.c \
	proto/proto_bytes.c \
	proto/framer.c \
	proto/stats_render.c \
	proto/stats_summary.c \
	proto/fcgi_wire.c proto/fcgi_wire.h
EXTRA_DIST += proto/PROTOCOL.md
WASMSLOT_PROTO_LIBS = proto/libwasmslot_proto.a lib/libwasmslot.a $(JANSSON_LIBS) $(PTHREAD_LIBS)

# The command-line client, wasmslot(1).
bin_PROGRAMS += client/wasmslot
client_wasmslot_SOURCES = client/wasmslot.c client/client.h client/conn.c client/commands.c \
	client/stats.c client/top.c
client_wasmslot_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
client_wasmslot_LDADD = $(WASMSLOT_PROTO_LIBS) -lm
dist_man_MANS += man/wasmslot.1

check_PROGRAMS += tests/check_proto
TESTS += tests/check_proto
tests_check_proto_SOURCES = tests/check_proto.c
tests_check_proto_CFLAGS = $(CHECK_CFLAGS_ALL) $(JANSSON_CFLAGS)
tests_check_proto_LDADD = proto/libwasmslot_proto.a $(CHECK_LDADD) $(JANSSON_LIBS) -lm

# The fast request parser and reply renderer against the jansson ones (differential).
check_PROGRAMS += tests/check_proto_fast
TESTS += tests/check_proto_fast
tests_check_proto_fast_SOURCES = tests/check_proto_fast.c
tests_check_proto_fast_CFLAGS = $(CHECK_CFLAGS_ALL) $(JANSSON_CFLAGS)
tests_check_proto_fast_LDADD = proto/libwasmslot_proto.a $(CHECK_LDADD) $(JANSSON_LIBS) -lm

# The client against a scripted stand-in for the daemon (python3, run like the e2e tests).
TESTS += tests/client/test_client.py
EXTRA_DIST += tests/client/test_client.py
# --- proto/client end

# The client's WASI command mode, `wasmslot run MODULE -- ARGS` (client/run.c), and its
# end-to-end test: the WASI test programs through the client and raw JSON against a daemon.
client_wasmslot_SOURCES += client/run.c
TESTS += tests/e2e/test_wasi_client.py
EXTRA_DIST += tests/e2e/test_wasi_client.py

# wasmslotd: master, workers, config, statistics.
sbin_PROGRAMS += daemon/wasmslotd
daemon_wasmslotd_SOURCES = \
	daemon/main.c \
	daemon/clock.c daemon/clock.h \
	daemon/master.c daemon/master.h \
	daemon/cfg.c daemon/cfg.h daemon/cfg_internal.h daemon/cfg_value.c daemon/cfg_daemon.c \
	daemon/cfg_module.c daemon/cfg_shmem.c daemon/cfg_listen.c daemon/cfg_check.c \
	daemon/cfg_log.c daemon/cfg_log.h \
	daemon/log.c daemon/log.h \
	daemon/stats.c daemon/stats.h \
	daemon/http.c daemon/http.h \
	daemon/modset.c daemon/modset.h daemon/modset_types.h \
	daemon/modcode.c daemon/modcode.h \
	daemon/worker.c daemon/worker.h \
	daemon/conn.c daemon/conn.h daemon/conn_job.c daemon/conn_internal.h \
	daemon/exec_pool.c daemon/exec_pool.h \
	daemon/wasirun.c daemon/wasirun.h \
	daemon/shm.c daemon/shm.h \
	daemon/mtcall.c daemon/mtcall.h \
	daemon/listen.c daemon/listen.h \
	daemon/fcgi.c daemon/fcgi.h daemon/fcgi_cgi.c daemon/fcgi_internal.h
daemon_wasmslotd_CPPFLAGS = $(AM_CPPFLAGS) -DWASMSLOTD_CONF='"$(sysconfdir)/wasmslotd.conf"'
daemon_wasmslotd_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS) -O2
daemon_wasmslotd_LDADD = proto/libwasmslot_proto.a lib/libwasmslot.a $(LIBEVENT_LIBS) \
	$(JANSSON_LIBS) $(PTHREAD_LIBS) -lm

# Example modules, written as .wat and built by make; installed with the example config.
DAEMON_EXAMPLES = etc/examples/add.wasm etc/examples/hello.wasm
noinst_DATA += $(DAEMON_EXAMPLES)
CLEANFILES += $(DAEMON_EXAMPLES)
EXTRA_DIST += $(DAEMON_EXAMPLES:.wasm=.wat)
exampledir = $(pkgdatadir)/examples
example_DATA = $(DAEMON_EXAMPLES)
# The config and the systemd unit are installed by mk/ops.mk.

dist_man_MANS += man/wasmslotd.8 man/wasmslotd.conf.5

# End-to-end tests: each starts a real wasmslotd on a temporary socket.
E2E_FIXTURES = tests/e2e/e2e.wasm tests/e2e/other.wasm tests/e2e/start_trap.wasm \
	tests/e2e/atomics.wasm tests/e2e/bigmem.wasm tests/e2e/wasi_fds.wasm
check_DATA += $(E2E_FIXTURES) $(DAEMON_EXAMPLES)
CLEANFILES += $(E2E_FIXTURES)
EXTRA_DIST += $(E2E_FIXTURES:.wasm=.wat) tests/e2e/e2elib.py
E2E_TESTS = \
	tests/e2e/test_config.py \
	tests/e2e/test_basic.py \
	tests/e2e/test_signals.py \
	tests/e2e/test_guest.py \
	tests/e2e/test_client_daemon.py \
	tests/e2e/test_wasi.py \
	tests/e2e/test_balance.py \
	tests/e2e/test_drain.py \
	tests/e2e/test_fair.py \
	tests/e2e/test_bounds.py
TESTS += $(E2E_TESTS)
EXTRA_DIST += $(E2E_TESTS)
TEST_EXTENSIONS = .py
PY_LOG_COMPILER = python3
AM_TESTS_ENVIRONMENT = \
	WASMSLOT_BUILDDIR='$(abs_top_builddir)'; export WASMSLOT_BUILDDIR; \
	WASMSLOT_SRCDIR='$(abs_top_srcdir)'; export WASMSLOT_SRCDIR; \
	WASMSLOT_SPEC_DIR='$(SPEC_DIR)'; export WASMSLOT_SPEC_DIR; \
	WAST2JSON='$(WAST2JSON)'; export WAST2JSON; \
	PYTHONDONTWRITEBYTECODE=1; export PYTHONDONTWRITEBYTECODE;

# Shared memories ([shmem] sections, calls with threads): the counter example, and the
# end-to-end test with its fixtures (a second module over the same memory, and one importing
# an unshared memory, which -t must reject).
DAEMON_EXAMPLES += etc/examples/counter.wasm
E2E_FIXTURES += tests/e2e/shm_reader.wasm tests/e2e/shm_unshared.wasm
TESTS += tests/e2e/test_shmem.py
EXTRA_DIST += tests/e2e/test_shmem.py

# The socket benchmark: `call` through a real wasmslotd against a bare Unix-socket ping-pong.
# Built by `make` and `make bench`; `make bench-socket` runs it; never part of `make check`.
noinst_PROGRAMS += tests/bench/socket-bench
tests_bench_socket_bench_SOURCES = tests/bench/socket_bench.c
tests_bench_socket_bench_CFLAGS = $(AM_CFLAGS) -O2
tests_bench_socket_bench_LDADD = $(PTHREAD_LIBS)
bench: tests/bench/socket-bench$(EXEEXT) daemon/wasmslotd$(EXEEXT) $(DAEMON_EXAMPLES)
bench-socket: tests/bench/socket-bench$(EXEEXT) daemon/wasmslotd$(EXEEXT) $(DAEMON_EXAMPLES)
	tests/bench/socket-bench$(EXEEXT)
.PHONY: bench-socket

# Hostile input against a real daemon: mutated and malformed request lines, line-limit edges,
# floods and clients that never read, forged handles, secrets left behind in a slot or in a
# thread's WASI state, malformed modules in the config, runaway guests
# (tests/e2e/test_hostile.py).
E2E_FIXTURES += tests/e2e/hostile_secret.wasm tests/e2e/hostile_runaway.wasm \
	tests/e2e/hostile_start_loop.wasm tests/e2e/hostile_wasi.wasm \
	tests/e2e/hostile_start_plant.wasm
TESTS += tests/e2e/test_hostile.py
EXTRA_DIST += tests/e2e/test_hostile.py

# Interrupt requests that must not be lost between registering a run and starting it (the
# daemon interrupts the runs of a closing connection that way).
check_PROGRAMS += tests/check_interrupt
TESTS += tests/check_interrupt
tests_check_interrupt_SOURCES = tests/check_interrupt.c
tests_check_interrupt_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_interrupt_LDADD = $(CHECK_LDADD) -lm

# Resource limits against a real daemon: max_connections, idle_timeout, max_reply_buffer with
# WASI replies, a pool's max_table_elements (tests/e2e/test_limits.py).
E2E_FIXTURES += tests/e2e/limits.wasm tests/e2e/unlinked.wasm tests/e2e/unlinked_global.wasm
TESTS += tests/e2e/test_limits.py
EXTRA_DIST += tests/e2e/test_limits.py

# The request-parsing microbenchmark (tests/bench/parse_bench.c): proto_request_parse on the
# everyday request lines. `make bench-parse` runs it; never part of `make check`. For the
# instruction count: valgrind --tool=callgrind tests/bench/parse-bench 100000.
noinst_PROGRAMS += tests/bench/parse-bench
tests_bench_parse_bench_SOURCES = tests/bench/parse_bench.c
tests_bench_parse_bench_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) -O2
tests_bench_parse_bench_LDADD = proto/libwasmslot_proto.a lib/libwasmslot.a $(JANSSON_LIBS) -lm
bench-parse: tests/bench/parse-bench$(EXEEXT)
	tests/bench/parse-bench$(EXEEXT)
.PHONY: bench-parse

# What an operator sees: the per-pool summary, counters across reloads, the queue wait, the
# exposition's validity, and `wasmslot top` under tmux (tests/e2e/test_stats.py).
TESTS += tests/e2e/test_stats.py
EXTRA_DIST += tests/e2e/test_stats.py

# The per-pool engine directive: both tiers side by side, what modules/stats/-t say of them,
# and a reload compiling only what changed (tests/e2e/test_engine.py).
TESTS += tests/e2e/test_engine.py
EXTRA_DIST += tests/e2e/test_engine.py

# A long mixed load while the daemon is reloaded, broken, killed and stopped under it
# (tests/soak/soak.py): `make soak SOAK_TIME=300`. Not part of make check.
SOAK_TIME = 300
EXTRA_DIST += tests/soak/soak.py
soak: daemon/wasmslotd $(E2E_FIXTURES)
	$(AM_TESTS_ENVIRONMENT) python3 $(srcdir)/tests/soak/soak.py --time $(SOAK_TIME)
.PHONY: soak

# The per-request benchmark (tests/bench/run_bench.c): worker CPU and page faults of a call, a
# WASI hello, a session and a 32 MiB image, in every slot reset mode. `make bench-run` runs
# it; never part of `make check`.
noinst_PROGRAMS += tests/bench/run-bench
tests_bench_run_bench_SOURCES = tests/bench/run_bench.c
tests_bench_run_bench_CFLAGS = $(AM_CFLAGS) -O2
RUN_BENCH_WASM = tests/bench/run_big.wasm
EXTRA_DIST += tests/bench/run_big.wat tests/bench/run_hello.c
if HAVE_WASM_CC
RUN_BENCH_WASM += tests/bench/run_hello.wasm
tests/bench/run_hello.wasm: tests/bench/run_hello.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/bench/run_hello.c
endif
noinst_DATA += $(RUN_BENCH_WASM)
CLEANFILES += $(RUN_BENCH_WASM)
bench: tests/bench/run-bench$(EXEEXT) daemon/wasmslotd$(EXEEXT) $(DAEMON_EXAMPLES) $(RUN_BENCH_WASM)
bench-run: tests/bench/run-bench$(EXEEXT) daemon/wasmslotd$(EXEEXT) $(DAEMON_EXAMPLES) \
		$(RUN_BENCH_WASM)
	@test -f tests/bench/run_hello.wasm || { echo 'bench-run: configure found no wasm32 C compiler (WASM_CC)' >&2; exit 1; }
	tests/bench/run-bench$(EXEEXT)
.PHONY: bench-run

# Slot isolation in every reset mode and pagemap method (tests/e2e/test_reset.py).
E2E_FIXTURES += tests/e2e/reset_guest.wasm
TESTS += tests/e2e/test_reset.py
EXTRA_DIST += tests/e2e/test_reset.py
