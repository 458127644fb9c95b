/* native/key.c: the code cache's key: a SHA-256 over everything that decides the machine code
 * the native tier makes for a module, so an entry made under any other condition is never
 * found. */
#include "config.h"

#include "native/cache.h"
#include "native/native_int.h"

#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The GNU build ID of the file holding this code (the daemon, or libwasmslot.so): any rebuild of
 * the library, even at the same version, changes the layouts and the translator that the cached
 * code was made for. Empty when the linker wrote none: the version and CACHE_FORMAT remain. */
static uint8_t build_id[64];
static size_t build_id_len;
static pthread_once_t build_id_once = PTHREAD_ONCE_INIT;

static size_t align_up(size_t n, size_t a)
{
    return (n + a - 1) & ~(a - 1);
}

/* Find the build ID note among one PT_NOTE segment's notes. */
static void note_build_id(const uint8_t *p, size_t size, size_t align)
{
    size_t off = 0;
    while (off + sizeof(ElfW(Nhdr)) <= size) {
        const ElfW(Nhdr) *nh = (const void *)(p + off);
        size_t name_off = off + sizeof *nh;
        size_t desc_off = name_off + align_up(nh->n_namesz, align);
        size_t next = desc_off + align_up(nh->n_descsz, align);
        if (next > size || next <= off)
            return;
        if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
            memcmp(p + name_off, "GNU", 4) == 0 && nh->n_descsz <= sizeof build_id) {
            memcpy(build_id, p + desc_off, nh->n_descsz);
            build_id_len = nh->n_descsz;
            return;
        }
        off = next;
    }
}

static int find_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    const uintptr_t here = (uintptr_t)arg;
    bool mine = false;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && here >= lo && here < lo + ph->p_memsz)
            mine = true;
    }
    if (!mine)
        return 0;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum && build_id_len == 0; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_NOTE)
            note_build_id((const uint8_t *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz,
                          ph->p_align == 8 ? 8 : 4);
    }
    return 1;
}

static void read_build_id(void)
{
    dl_iterate_phdr(find_object, (void *)(uintptr_t)&read_build_id);
}

static void field(struct sha256 *s, const void *p, size_t len)
{
    uint8_t n[8];
    for (int i = 0; i < 8; i++)
        n[i] = (uint8_t)((uint64_t)len >> (8 * i));
    sha256_update(s, n, sizeof n);
    sha256_update(s, p, len);
}

static void field_str(struct sha256 *s, const char *str)
{
    field(s, str, strlen(str));
}

int native__cache_key(const struct wasmslot_module *m, uint8_t key[SHA256_BYTES])
{
    pthread_once(&build_id_once, read_build_id);
    char *target = native__target_id();
    if (target == NULL)
        return -1;
    const uint32_t format = CACHE_FORMAT;
    struct sha256 s;
    sha256_init(&s);
    /* Each field is length-prefixed, so no two different lists hash the same bytes. */
    field_str(&s, "wasmslot native code");
    field(&s, &format, sizeof format);
    field_str(&s, PACKAGE_VERSION);
    field(&s, build_id, build_id_len);
    field_str(&s, target);
    field(&s, m->bytes, m->len);
    sha256_final(&s, key);
    free(target);
    return 0;
}
