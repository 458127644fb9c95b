# mk/ops.mk: operating wasmslotd: privileges, process titles, request logs, the checks of -t
# and -T, the install layout (config, systemd unit, docs, bash completion) and their tests.

daemon_wasmslotd_SOURCES += \
	daemon/privs.c daemon/privs.h \
	daemon/proctitle.c daemon/proctitle.h \
	daemon/accesslog.c daemon/accesslog.h \
	daemon/cfg_dump.c

# The operator's view against a real daemon (tests/e2e/test_ops.py).
TESTS += tests/e2e/test_ops.py
EXTRA_DIST += tests/e2e/test_ops.py
