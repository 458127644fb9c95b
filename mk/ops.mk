# mk/ops.mk: operating wasmslotd: privileges, process titles, request logs, the checks of -t
# and -T, the install layout (config, systemd unit, docs, bash completion) and their tests.

daemon_wasmslotd_SOURCES += \
	daemon/privs.c daemon/privs.h \
	daemon/proctitle.c daemon/proctitle.h \
	daemon/accesslog.c daemon/accesslog.h \
	daemon/cfg_dump.c

# The client's help of each command and its hint when no daemon answers (client/help.c).
client_wasmslot_SOURCES += client/help.c

# The operator's view against a real daemon (tests/e2e/test_ops.py).
TESTS += tests/e2e/test_ops.py
EXTRA_DIST += tests/e2e/test_ops.py

# ---------------------------------------------------------------- install
#
# What `make install` puts where, so that the installed tree works as installed:
#   $(sysconfdir)/wasmslotd.conf   the example config, its module paths pointing at
#                                  $(pkgdatadir)/examples; never over an existing file (the
#                                  new one goes beside it as wasmslotd.conf.default)
#   $(systemdsystemunitdir)        wasmslotd.service, its paths those of configure
#   $(pkgdatadir)/examples         the example modules, config and unit
#   $(docdir)                      README, PROTOCOL.md
#   $(bashcompletiondir)           completions of wasmslot and wasmslotd
# `make installcheck` runs the installed wasmslotd -t on the installed config.

# Files made from templates with the installation's paths (make, not configure, expands them).
if HAVE_LLVM
mdwe_comment = \# (native tier: see above) 
else
mdwe_comment =
endif
edit_paths = $(SED) \
	-e 's|@mdwe_comment[@]|$(mdwe_comment)|g' \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@pkgdatadir[@]|$(pkgdatadir)|g'

etc/wasmslotd.service: $(srcdir)/etc/wasmslotd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && $(edit_paths) $(srcdir)/etc/wasmslotd.service.in > $@.tmp && \
	mv $@.tmp $@

# The example config as installed: relative module paths become $(pkgdatadir)/examples ones.
etc/wasmslotd.conf.installed: $(srcdir)/etc/wasmslotd.conf Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && \
	$(SED) -e 's|^path = examples/|path = $(pkgdatadir)/examples/|' \
		$(srcdir)/etc/wasmslotd.conf > $@.tmp && mv $@.tmp $@

noinst_DATA += etc/wasmslotd.service etc/wasmslotd.conf.installed
CLEANFILES += etc/wasmslotd.service etc/wasmslotd.conf.installed
EXTRA_DIST += etc/wasmslotd.conf etc/wasmslotd.service.in etc/wasmslot.bash-completion

example_DATA += etc/wasmslotd.service
if HAVE_SYSTEMD_UNITDIR
systemdsystemunit_DATA = etc/wasmslotd.service
endif
dist_doc_DATA = README proto/PROTOCOL.md

install-data-local: etc/wasmslotd.conf.installed
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)' '$(DESTDIR)$(exampledir)'
	$(INSTALL_DATA) etc/wasmslotd.conf.installed '$(DESTDIR)$(exampledir)/wasmslotd.conf'
	@if test -e '$(DESTDIR)$(sysconfdir)/wasmslotd.conf'; then \
	  echo " $(INSTALL_DATA) etc/wasmslotd.conf.installed '$(DESTDIR)$(sysconfdir)/wasmslotd.conf.default'"; \
	  $(INSTALL_DATA) etc/wasmslotd.conf.installed '$(DESTDIR)$(sysconfdir)/wasmslotd.conf.default'; \
	  echo "note: $(DESTDIR)$(sysconfdir)/wasmslotd.conf exists and was kept; the new example is wasmslotd.conf.default"; \
	else \
	  echo " $(INSTALL_DATA) etc/wasmslotd.conf.installed '$(DESTDIR)$(sysconfdir)/wasmslotd.conf'"; \
	  $(INSTALL_DATA) etc/wasmslotd.conf.installed '$(DESTDIR)$(sysconfdir)/wasmslotd.conf'; \
	fi
	$(MKDIR_P) '$(DESTDIR)$(bashcompletiondir)'
	$(INSTALL_DATA) $(srcdir)/etc/wasmslot.bash-completion '$(DESTDIR)$(bashcompletiondir)/wasmslot'
	$(LN_S) -f wasmslot '$(DESTDIR)$(bashcompletiondir)/wasmslotd'

# The config is removed only when it is still the one installed (an edited one stays).
uninstall-local:
	-cmp -s etc/wasmslotd.conf.installed '$(DESTDIR)$(sysconfdir)/wasmslotd.conf' && \
	  rm -f '$(DESTDIR)$(sysconfdir)/wasmslotd.conf'
	rm -f '$(DESTDIR)$(sysconfdir)/wasmslotd.conf.default' \
	  '$(DESTDIR)$(exampledir)/wasmslotd.conf' \
	  '$(DESTDIR)$(bashcompletiondir)/wasmslot' '$(DESTDIR)$(bashcompletiondir)/wasmslotd'

installcheck-local: installcheck-embed
	'$(DESTDIR)$(sbindir)/wasmslotd' -t -c '$(DESTDIR)$(sysconfdir)/wasmslotd.conf'

# distcheck installs as a user into a scratch prefix: the unit and completion go there too.
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir='$$(prefix)/lib/systemd/system' \
	--with-bashcompletiondir='$$(datadir)/bash-completion/completions'

# The installed tree, run once from `make install DESTDIR=...` (tests/e2e/test_install.py).
TESTS += tests/e2e/test_install.py
EXTRA_DIST += tests/e2e/test_install.py

# The installation directories, for tests/e2e/test_install.py.
print-install-dirs:
	@echo 'prefix=$(prefix)'; echo 'sbindir=$(sbindir)'; echo 'bindir=$(bindir)'; \
	echo 'sysconfdir=$(sysconfdir)'; echo 'pkgdatadir=$(pkgdatadir)'; echo 'docdir=$(docdir)'; \
	echo 'mandir=$(mandir)'; echo 'bashcompletiondir=$(bashcompletiondir)'; \
	echo 'systemdsystemunitdir=$(systemdsystemunitdir)'
.PHONY: print-install-dirs

# The client's help, hint and default timeout against the scripted stand-in of the daemon.
TESTS += tests/client/test_client_ops.py
EXTRA_DIST += tests/client/test_client_ops.py
