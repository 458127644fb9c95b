/* utf8.c: a WASI test program: a table-driven UTF-8 decoder (a DFA: character classes and a
 * transition table), validating stdin or built-in samples, counting code points per plane and
 * re-encoding them as UTF-16 and as escaped ASCII. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { ACCEPT = 0, REJECT = 12 };

/* Byte classes: 0 ASCII, 1 continuation 80-8F, 9 90-9F, 7 A0-BF, 8 C0-C1/F5-FF, 2 C2-DF,
 * 10 E0, 3 E1-EC/EE-EF, 4 ED, 11 F0, 6 F1-F3, 5 F4. */
static uint8_t byte_class(uint8_t b)
{
    if (b < 0x80) return 0;
    if (b < 0x90) return 1;
    if (b < 0xA0) return 9;
    if (b < 0xC0) return 7;
    if (b < 0xC2) return 8;
    if (b < 0xE0) return 2;
    if (b == 0xE0) return 10;
    if (b == 0xED) return 4;
    if (b < 0xF0) return 3;
    if (b == 0xF0) return 11;
    if (b < 0xF4) return 6;
    if (b == 0xF4) return 5;
    return 8;
}

/* transitions[state + class]: states are multiples of 12. */
static const uint8_t transitions[108] = {
    0,  12, 24, 36, 60, 96, 84, 12, 12, 12, 48, 72, /* 0: accept */
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, /* 12: reject */
    12, 0,  12, 12, 12, 12, 12, 0,  12, 0,  12, 12, /* 24: one more */
    12, 24, 12, 12, 12, 12, 12, 24, 12, 24, 12, 12, /* 36: two more */
    12, 12, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12, /* 48: after E0 */
    12, 24, 12, 12, 12, 12, 12, 12, 12, 24, 12, 12, /* 60: after ED */
    12, 12, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12, /* 72: after F0 */
    12, 36, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12, /* 84: after F1-F3 */
    12, 36, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, /* 96: after F4 */
};

static void report(const char *label, const uint8_t *s, size_t n)
{
    uint32_t state = ACCEPT, cp = 0;
    unsigned planes[17] = {0}, errors = 0, units16 = 0;
    uint32_t sum = 0;
    printf("%s: ", label);
    for (size_t i = 0; i < n; i++) {
        uint8_t cls = byte_class(s[i]);
        cp = state == ACCEPT ? (uint32_t)(0xFF >> cls) & s[i] : (cp << 6) | (s[i] & 0x3F);
        if (state == ACCEPT && cls >= 2 && cls != 7 && cls != 9)
            cp = s[i] & (cls == 2 ? 0x1F : cls == 3 || cls == 4 || cls == 10 ? 0x0F : 0x07);
        state = transitions[state + cls];
        if (state == REJECT) {
            errors++;
            printf("\\x%02X", s[i]);
            state = ACCEPT;
            continue;
        }
        if (state != ACCEPT)
            continue;
        planes[cp >> 16]++;
        units16 += cp >= 0x10000 ? 2 : 1;
        sum = sum * 31 + cp;
        if (cp < 0x80 && cp >= 0x20)
            putchar((int)cp);
        else if (cp < 0x10000)
            printf("\\u%04X", (unsigned)cp);
        else
            printf("\\U%08X", (unsigned)cp);
    }
    if (state != ACCEPT)
        errors++;
    printf("\n  BMP %u, plane1 %u, UTF-16 units %u, errors %u, hash %08x\n", planes[0],
           planes[1], units16, errors, (unsigned)sum);
}

int main(void)
{
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), stdin);
    if (n > 0) {
        report("stdin", buf, n);
        return 0;
    }
    static const char *const samples[] = {
        "plain ASCII text",
        "caf\xC3\xA9 \xE2\x82\xAC 10 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
        "emoji \xF0\x9F\x98\x80 \xF0\x9F\x8E\x89 and math \xF0\x9D\x95\x8F",
        "overlong \xC0\xAF and surrogate \xED\xA0\x80 and stray \x80 end",
        "truncated \xE2\x82",
        "max \xF4\x8F\xBF\xBF too big \xF4\x90\x80\x80",
    };
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char label[16];
        snprintf(label, sizeof(label), "sample %zu", i);
        report(label, (const uint8_t *)samples[i], strlen(samples[i]));
    }
    return 0;
}
