# mk/interp.mk: the function-body compiler, the interpreter, fault-to-trap handling, and their tests.
lib_libwasmslot_a_SOURCES += \
	lib/interp.h \
	lib/interp_ops.h \
	lib/interp_run.h \
	lib/interp_compile.c \
	lib/interp.c \
	lib/exec.c \
	lib/trap.c \
	lib/trap.h
