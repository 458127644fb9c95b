# mk/slot.mk: build rules of the slot area (empty until it has files).
