# mk/wasi.mk: WASI preview1 host functions, their unit tests, and the C test programs
# compiled to wasm32-wasi that run through them.
lib_libwasmslot_a_SOURCES += \
	lib/wasi/wasi.c \
	lib/wasi/fs.c \
	lib/wasi/run.c \
	lib/wasi/wasi.h

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
	tests/wasi/counter.c
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
else
tests_check_wasi_run_CFLAGS = $(CHECK_CFLAGS_ALL) -DWASI_DIR='"$(abs_top_builddir)/tests/wasi"'
endif
