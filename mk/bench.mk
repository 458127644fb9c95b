# mk/bench.mk: build rules of the bench area (empty until it has files).
