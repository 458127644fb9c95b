# mk/spec.mk: build rules of the spec area (empty until it has files).
