# mk/wasi.mk: build rules of the wasi area (empty until it has files).
