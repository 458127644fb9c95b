# mk/fuzz.mk: build rules of the fuzz area (empty until it has files).
