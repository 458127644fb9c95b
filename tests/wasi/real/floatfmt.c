/* floatfmt.c: a WASI test program: floating-point formatting and parsing through printf and
 * strtod (the libc's own conversion code, heavy in 64-bit integer arithmetic), and the float
 * operations whose results the spec fixes bit for bit. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    static const double values[] = {
        0.0, -0.0, 1.0, -1.5, 0.1, 1.0 / 3.0, 2.0 / 3.0, 1e-300, 1e300, 123456789.125,
        3.141592653589793, 2.718281828459045, 6.02214076e23, 1.602176634e-19, DBL_MAX,
        DBL_MIN, 4.9e-324, 9007199254740993.0, 0.5, 1e21, 1e-7, 255.0 / 256.0,
    };
    static const char *const fmts[] = {"%f", "%.0f", "%.3f", "%e", "%.12e", "%g", "%.17g",
                                       "%a", "%10.4f|", "%-12.3e|", "%+g"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        printf("[%zu]", i);
        for (size_t k = 0; k < sizeof(fmts) / sizeof(fmts[0]); k++) {
            putchar(' ');
            printf(fmts[k], values[i]);
        }
        putchar('\n');
    }
    printf("inf %f %e %g, -inf %f, nan %f\n", INFINITY, INFINITY, INFINITY, -INFINITY, NAN);

    /* Round trips through text. */
    int mismatches = 0;
    double x = 0.1;
    for (int i = 0; i < 500; i++) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%.17g", x);
        double y = strtod(buf, NULL);
        if (memcmp(&x, &y, sizeof(x)) != 0)
            mismatches++;
        x = x * 1.37 + 1e-3 / (i + 1);
        if (x > 1e200)
            x = 1e-200 * (i + 1);
    }
    printf("round-trip mismatches: %d\n", mismatches);
    static const char *const texts[] = {"1e400", "-1e-400", "0x1.8p3", "  42.5abc", "nan",
                                        "-inf", "2.2250738585072011e-308"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        char *end;
        double v = strtod(texts[i], &end);
        printf("strtod(\"%s\") = %.17g, rest \"%s\"\n", texts[i], v, end);
    }

    /* Floats: single precision arithmetic and its formatting. */
    float f = 1.0f;
    for (int i = 0; i < 30; i++)
        f = f * 1.1f + 0.01f;
    printf("float %.9g %a\n", (double)f, (double)f);
    printf("sqrt %.17g floor %.1f ceil %.1f trunc %.1f nearbyint %.1f %.1f\n", sqrt(2.0),
           floor(-2.5), ceil(-2.5), trunc(-2.7), nearbyint(2.5), nearbyint(3.5));
    printf("fmin %g fmax %g copysign %g fabs %g\n", fmin(-0.0, 0.0), fmax(-0.0, 0.0),
           copysign(3.0, -0.0), fabs(-7.25));
    printf("pow %.17g exp %.17g log %.17g sin %.17g\n", pow(2.0, 0.5), exp(1.0), log(10.0),
           sin(1.0));
    int64_t big = (int64_t)9.2e18;
    printf("conversions %lld %u %d\n", (long long)big, (unsigned)3.99e9, (int)-2.9);
    return 0;
}
