# mk/runtime.mk: build rules of the runtime area (empty until it has files).
