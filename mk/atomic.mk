# mk/atomic.mk: the threads proposal's instructions in the interpreter: their sources, their
# Check test with its guest fixtures.
lib_libwasmslot_a_SOURCES += \
	lib/interp_atomic.h \
	lib/interp_atomic_compile.h \
	lib/interp_atomic_run.h
