# mk/interp.mk: build rules of the interp area (empty until it has files).
