# mk/shmem.mk: build rules of the shmem area (empty until it has files).
