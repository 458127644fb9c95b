# mk/spec.mk: the WebAssembly spec-test runner, `make spec` (ENGINE=interp|native), and the
# spec scripts through both tiers in `make check` (tests/spec/test_spec_tiers.py).

# Built by `make` so a change that breaks it shows up at once; run only by `make spec`.
noinst_PROGRAMS += tests/spec/spec_runner
tests_spec_spec_runner_SOURCES = \
	tests/spec/spec.h \
	tests/spec/spec_runner.c \
	tests/spec/spec_script.c \
	tests/spec/spec_value.c \
	tests/spec/spectest.c
tests_spec_spec_runner_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_spec_spec_runner_LDADD = lib/libwasmslot.a $(JANSSON_LIBS) $(PTHREAD_LIBS) -lm

# The runner's value parsing and NaN matching, as a unit test of `make check`.
check_PROGRAMS += tests/spec/check_spec_value
TESTS += tests/spec/check_spec_value
tests_spec_check_spec_value_SOURCES = tests/spec/check_spec_value.c tests/spec/spec_value.c \
	tests/spec/spec.h
tests_spec_check_spec_value_CFLAGS = $(CHECK_CFLAGS_ALL) $(JANSSON_CFLAGS)
tests_spec_check_spec_value_LDADD = $(CHECK_LDADD) $(JANSSON_LIBS)

# The .wast scripts: every one under SPEC_DIR, recursively. SPEC_FLAGS passes runner options,
# e.g. SPEC_FLAGS=-v for every failure line and message difference.
SPEC_DIR = $(abs_top_srcdir)/../shared/spec
SPEC_FLAGS =
ENGINE = interp
SPEC_RUN = tests/spec/spec_runner$(EXEEXT) --wast2json '$(WAST2JSON)' --engine $(ENGINE) $(SPEC_FLAGS)

spec: tests/spec/spec_runner$(EXEEXT)
	@test '$(WAST2JSON)' != no || { echo 'make spec: wast2json (wabt) was not found by configure' >&2; exit 1; }
	$(SPEC_RUN) '$(SPEC_DIR)'

# The same scripts with every module's own memory taken from a slot pool (memory images).
spec-pool: tests/spec/spec_runner$(EXEEXT)
	@test '$(WAST2JSON)' != no || { echo 'make spec-pool: wast2json (wabt) was not found by configure' >&2; exit 1; }
	$(SPEC_RUN) --pool '$(SPEC_DIR)'

.PHONY: spec spec-pool

# Every script on the interpreter, a covering set on the native tier (when built); skipped
# when SPEC_DIR has no scripts.
if HAVE_WAST2JSON
TESTS += tests/spec/test_spec_tiers.py
endif
EXTRA_DIST += tests/spec/test_spec_tiers.py
tests/spec/test_spec_tiers.log: tests/spec/spec_runner$(EXEEXT)
