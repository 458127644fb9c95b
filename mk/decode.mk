# mk/decode.mk: build rules of the decode area (empty until it has files).
