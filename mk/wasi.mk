# mk/wasi.mk: WASI preview1 host functions, their unit tests, and the C test programs
# compiled to wasm32-wasi that run through them.
lib_libwasmslot_a_SOURCES += \
	lib/wasi/wasi.c \
	lib/wasi/fs.c \
	lib/wasi/run.c \
	lib/wasi/wasi.h \
	lib/wasi/fs.h \
	lib/wasi/state.h

check_PROGRAMS += tests/check_wasi
TESTS += tests/check_wasi
tests_check_wasi_SOURCES = tests/check_wasi.c
tests_check_wasi_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_wasi_LDADD = $(CHECK_LDADD)

# Guests written in wat: link rules, guest-visible EFAULT/NOSYS, a sleep cut by the deadline.
WASI_WAT = \
	tests/wasi/imports_ok.wat \
	tests/wasi/imports_badsig.wat \
	tests/wasi/imports_badkind.wat \
	tests/wasi/imports_badstub.wat \
	tests/wasi/no_start.wat \
	tests/wasi/guest_bounds.wat \
	tests/wasi/guest_sleep.wat
WASI_WAT_WASM = $(WASI_WAT:.wat=.wasm)
EXTRA_DIST += $(WASI_WAT)
check_DATA += $(WASI_WAT_WASM)
CLEANFILES += $(WASI_WAT_WASM)

check_PROGRAMS += tests/check_wasi_run
TESTS += tests/check_wasi_run
tests_check_wasi_run_SOURCES = tests/check_wasi_run.c
tests_check_wasi_run_LDADD = $(CHECK_LDADD)

# The C programs users would write, compiled with the WASI libc; the end-to-end tests run
# them through the daemon, check_wasi_run runs them in-process.
WASI_PROGS_SRC = \
	tests/wasi/filter.c \
	tests/wasi/argsenv.c \
	tests/wasi/grow.c \
	tests/wasi/exit3.c \
	tests/wasi/trap.c \
	tests/wasi/clockrand.c \
	tests/wasi/catfile.c \
	tests/wasi/counter.c \
	tests/wasi/reactor.c
EXTRA_DIST += $(WASI_PROGS_SRC)

if HAVE_WASM_CC
WASI_PROGS = $(WASI_PROGS_SRC:.c=.wasm)
noinst_DATA += $(WASI_PROGS)
check_DATA += $(WASI_PROGS)
tests_check_wasi_run_CFLAGS = $(CHECK_CFLAGS_ALL) -DWASI_DIR='"$(abs_top_builddir)/tests/wasi"' \
	-DHAVE_WASI_PROGRAMS=1
CLEANFILES += $(WASI_PROGS)
WASI_CC_CMD = $(MKDIR_P) $(@D) && $(WASM_CC) --target=wasm32-wasi --sysroot=$(WASI_SYSROOT) \
	-O2 -Wall -Wextra -o $@

tests/wasi/filter.wasm: tests/wasi/filter.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/wasi/filter.c
tests/wasi/argsenv.wasm: tests/wasi/argsenv.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/wasi/argsenv.c
tests/wasi/grow.wasm: tests/wasi/grow.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/wasi/grow.c
tests/wasi/exit3.wasm: tests/wasi/exit3.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/wasi/exit3.c
tests/wasi/trap.wasm: tests/wasi/trap.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/wasi/trap.c
tests/wasi/clockrand.wasm: tests/wasi/clockrand.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/wasi/clockrand.c
tests/wasi/catfile.wasm: tests/wasi/catfile.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/wasi/catfile.c
tests/wasi/counter.wasm: tests/wasi/counter.c
	$(AM_V_GEN)$(WASI_CC_CMD) $(srcdir)/tests/wasi/counter.c
tests/wasi/reactor.wasm: tests/wasi/reactor.c
	$(AM_V_GEN)$(WASI_CC_CMD) -mexec-model=reactor $(srcdir)/tests/wasi/reactor.c
else
tests_check_wasi_run_CFLAGS = $(CHECK_CFLAGS_ALL) -DWASI_DIR='"$(abs_top_builddir)/tests/wasi"'
endif

# Programs of the kinds compilers make of real code (switch interpreters, state machines, deep
# and mutual recursion, error paths, float formatting, qsort/bsearch, large tables), each
# built at -O0, -O2, -Os and -O3 as tests/wasi/real/NAME-LEVEL.wasm (one stamp per program).
# test_wasi_programs.py runs every build through the daemon and compares it byte for byte
# with node's WASI. The stack is 4 MiB: clang keeps -O0 frames in linear memory.
WASI_REAL_SRC = tests/wasi/real/bytecode.c tests/wasi/real/lexer.c tests/wasi/real/recurse.c tests/wasi/real/mutual.c \
	tests/wasi/real/errors.c tests/wasi/real/floatfmt.c tests/wasi/real/sorting.c tests/wasi/real/tables.c \
	tests/wasi/real/dispatch.c tests/wasi/real/bigint.c tests/wasi/real/wordfreq.c tests/wasi/real/regex.c \
	tests/wasi/real/sudoku.c tests/wasi/real/life.c tests/wasi/real/utf8.c
WASI_REAL_LEVELS = O0 O2 Os O3
EXTRA_DIST += $(WASI_REAL_SRC) tests/e2e/wasi_node.js tests/e2e/test_wasi_programs.py
TESTS += tests/e2e/test_wasi_programs.py

if HAVE_WASM_CC
WASI_REAL_STAMPS = tests/wasi/real/bytecode.stamp tests/wasi/real/lexer.stamp tests/wasi/real/recurse.stamp tests/wasi/real/mutual.stamp \
	tests/wasi/real/errors.stamp tests/wasi/real/floatfmt.stamp tests/wasi/real/sorting.stamp tests/wasi/real/tables.stamp \
	tests/wasi/real/dispatch.stamp tests/wasi/real/bigint.stamp tests/wasi/real/wordfreq.stamp tests/wasi/real/regex.stamp \
	tests/wasi/real/sudoku.stamp tests/wasi/real/life.stamp tests/wasi/real/utf8.stamp
check_DATA += $(WASI_REAL_STAMPS)
# The shell expands the pattern when `make clean` runs rm.
CLEANFILES += $(WASI_REAL_STAMPS) tests/wasi/real/*.wasm
WASI_REAL_CMD = build() { $(MKDIR_P) tests/wasi/real && for o in $(WASI_REAL_LEVELS); do \
	$(WASM_CC) --target=wasm32-wasi --sysroot=$(WASI_SYSROOT) -$$o -Wall -Wextra \
	-Wl,-z,stack-size=4194304 -o tests/wasi/real/$$1-$$o.wasm $(srcdir)/tests/wasi/real/$$1.c \
	-lm || return 1; done && touch tests/wasi/real/$$1.stamp; }; build
tests/wasi/real/bytecode.stamp: tests/wasi/real/bytecode.c
	$(AM_V_GEN)$(WASI_REAL_CMD) bytecode
tests/wasi/real/lexer.stamp: tests/wasi/real/lexer.c
	$(AM_V_GEN)$(WASI_REAL_CMD) lexer
tests/wasi/real/recurse.stamp: tests/wasi/real/recurse.c
	$(AM_V_GEN)$(WASI_REAL_CMD) recurse
tests/wasi/real/mutual.stamp: tests/wasi/real/mutual.c
	$(AM_V_GEN)$(WASI_REAL_CMD) mutual
tests/wasi/real/errors.stamp: tests/wasi/real/errors.c
	$(AM_V_GEN)$(WASI_REAL_CMD) errors
tests/wasi/real/floatfmt.stamp: tests/wasi/real/floatfmt.c
	$(AM_V_GEN)$(WASI_REAL_CMD) floatfmt
tests/wasi/real/sorting.stamp: tests/wasi/real/sorting.c
	$(AM_V_GEN)$(WASI_REAL_CMD) sorting
tests/wasi/real/tables.stamp: tests/wasi/real/tables.c
	$(AM_V_GEN)$(WASI_REAL_CMD) tables
tests/wasi/real/dispatch.stamp: tests/wasi/real/dispatch.c
	$(AM_V_GEN)$(WASI_REAL_CMD) dispatch
tests/wasi/real/bigint.stamp: tests/wasi/real/bigint.c
	$(AM_V_GEN)$(WASI_REAL_CMD) bigint
tests/wasi/real/wordfreq.stamp: tests/wasi/real/wordfreq.c
	$(AM_V_GEN)$(WASI_REAL_CMD) wordfreq
tests/wasi/real/regex.stamp: tests/wasi/real/regex.c
	$(AM_V_GEN)$(WASI_REAL_CMD) regex
tests/wasi/real/sudoku.stamp: tests/wasi/real/sudoku.c
	$(AM_V_GEN)$(WASI_REAL_CMD) sudoku
tests/wasi/real/life.stamp: tests/wasi/real/life.c
	$(AM_V_GEN)$(WASI_REAL_CMD) life
tests/wasi/real/utf8.stamp: tests/wasi/real/utf8.c
	$(AM_V_GEN)$(WASI_REAL_CMD) utf8
endif
