# mk/interp.mk: the function-body compiler, the interpreter, fault-to-trap handling, and their tests.
lib_libwasmslot_a_SOURCES += \
	lib/interp/interp.h \
	lib/interp/ops.h \
	lib/interp/run.h \
	lib/interp/compile.h \
	lib/interp/compile.c \
	lib/interp/compile_stack.c \
	lib/interp/compile_ctl.c \
	lib/interp/compile_value.c \
	lib/interp/interp.c \
	lib/interp/tier.c \
	lib/runtime/exec.c \
	lib/runtime/trap.c \
	lib/runtime/trap.h

INTERP_WAT = tests/wat/interp_ops.wat
EXTRA_DIST += $(INTERP_WAT)
check_DATA += $(INTERP_WAT:.wat=.wasm)
CLEANFILES += $(INTERP_WAT:.wat=.wasm)

check_PROGRAMS += tests/check_interp
TESTS += tests/check_interp
tests_check_interp_SOURCES = tests/check_interp.c
tests_check_interp_CFLAGS = $(CHECK_CFLAGS_ALL) -DWAT_DIR='"$(abs_top_builddir)/tests/wat"'
tests_check_interp_LDADD = $(CHECK_LDADD) -lm
