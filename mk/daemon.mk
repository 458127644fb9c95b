# mk/daemon.mk: build rules of the daemon area (empty until it has files).
