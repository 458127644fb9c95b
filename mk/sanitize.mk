# mk/sanitize.mk: `make check-valgrind`, every Check test program under valgrind memcheck.
# (The sanitizer run needs no target of its own: configure --enable-sanitizers, then make check.)

VALGRIND = valgrind
VALGRIND_FLAGS = -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9
# Left out by default, run them with VALGRIND_SKIP= to read their reports anyway:
# - check_interp makes guest accesses fault in guard pages on purpose (memcheck reports each
#   one as an invalid access at the interpreter's load/store handlers), and expects a host
#   fault in a forked child to kill it, which valgrind does not reproduce;
# - check_wasi and check_wasi_run open files with openat2(2), which valgrind 3.19 does not
#   know (every open fails with ENOSYS, and the failed assertions leak their fixtures).
# - check_signals makes guest code fault on purpose, as check_interp does, and memcheck ends
#   the process at the first such fault;
# - check_interrupt and check_atomic bound how long an interrupt or a cross-process wake-up
#   takes (1 s), which memcheck's slowdown exceeds;
# - check_cache's cross-process case runs the test program again outside memcheck, whose
#   virtual CPU reports other features than the real one: the two keys differ;
# - fuzz/diff_run is a tool the fuzz scripts run on a module, not a test.
VALGRIND_SKIP = tests/check_interp$(EXEEXT) tests/check_wasi$(EXEEXT) \
	tests/check_wasi_run$(EXEEXT) tests/check_signals$(EXEEXT) \
	tests/check_interrupt$(EXEEXT) tests/check_atomic$(EXEEXT) tests/check_cache$(EXEEXT) \
	tests/fuzz/diff_run$(EXEEXT)

check-valgrind: $(check_PROGRAMS) $(check_DATA)
	@fail=0; for t in $(check_PROGRAMS); do \
	  case " $(VALGRIND_SKIP) " in *" $$t "*) echo "SKIP: $$t"; continue;; esac; \
	  if CK_FORK=no WASMSLOT_BUILDDIR='$(abs_top_builddir)' WASMSLOT_SRCDIR='$(abs_top_srcdir)' \
	     $(VALGRIND) $(VALGRIND_FLAGS) --log-file=$$t.vg.log ./$$t >$$t.vg.out 2>&1; then \
	    echo "PASS: $$t"; \
	  else \
	    echo "FAIL: $$t (see $$t.vg.log and $$t.vg.out)"; fail=1; \
	  fi; \
	done; exit $$fail
.PHONY: check-valgrind

clean-local: clean-valgrind clean-code-cache
# The e2e tests' shared native code cache (tests/e2e/e2elib.py).
clean-code-cache:
	-rm -rf tests/e2e/code-cache
.PHONY: clean-code-cache
clean-valgrind:
	-rm -f tests/*.vg.log tests/*.vg.out tests/*/*.vg.log tests/*/*.vg.out
.PHONY: clean-valgrind
