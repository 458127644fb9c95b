/* lexer.c: a WASI test program: a table-free state machine that tokenizes C-like source read
 * from stdin (or a built-in text when stdin is empty) and prints each token and a summary. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

enum state { S_START, S_IDENT, S_NUMBER, S_HEX, S_FLOAT, S_STRING, S_ESCAPE, S_SLASH,
             S_LINE_COMMENT, S_BLOCK_COMMENT, S_BLOCK_STAR, S_OP };

static const char builtin[] =
    "/* a sample */ int main(void) { int x = 0x1F + 42; double d = 3.25e2;\n"
    "  const char *s = \"he said \\\"hi\\\"\\n\"; // comment\n"
    "  if (x >= 10 && d != 0.5) { x <<= 2; } else { x--; }\n"
    "  return x % 7 == 3 ? 1 : -1; }\n";

static unsigned counts[8];
static const char *const kinds[8] = {"ident", "keyword", "number", "string", "op", "comment",
                                     "bad", "lines"};

static int is_keyword(const char *w)
{
    static const char *const kw[] = {"int", "void", "double", "const", "char", "if", "else",
                                     "return", "while", "for"};
    for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
        if (strcmp(w, kw[i]) == 0)
            return 1;
    return 0;
}

static void emit(int kind, const char *text, size_t len)
{
    counts[kind]++;
    printf("%-8s %.*s\n", kinds[kind], (int)len, text);
}

static void lex(const char *src, size_t n)
{
    enum state st = S_START;
    size_t start = 0;
    char word[64];

    for (size_t i = 0; i <= n; i++) {
        int c = i < n ? (unsigned char)src[i] : 0;
        if (c == '\n')
            counts[7]++;
        switch (st) {
        case S_START:
            start = i;
            if (c == 0)
                break;
            if (isalpha(c) || c == '_')
                st = S_IDENT;
            else if (c == '0' && i + 1 < n && (src[i + 1] == 'x' || src[i + 1] == 'X')) {
                st = S_HEX;
                i++;
            } else if (isdigit(c))
                st = S_NUMBER;
            else if (c == '"')
                st = S_STRING;
            else if (c == '/')
                st = S_SLASH;
            else if (isspace(c))
                ;
            else if (strchr("+-*%=<>!&|^~?:;,(){}[].", c))
                st = S_OP;
            else
                emit(6, src + i, 1);
            break;
        case S_IDENT:
            if (!(isalnum(c) || c == '_')) {
                size_t len = i - start < sizeof(word) - 1 ? i - start : sizeof(word) - 1;
                memcpy(word, src + start, len);
                word[len] = 0;
                emit(is_keyword(word) ? 1 : 0, src + start, i - start);
                st = S_START;
                i--;
            }
            break;
        case S_NUMBER:
            if (c == '.' || c == 'e' || c == 'E')
                st = S_FLOAT;
            else if (!isdigit(c)) {
                emit(2, src + start, i - start);
                st = S_START;
                i--;
            }
            break;
        case S_FLOAT:
            if (!(isdigit(c) || ((c == '-' || c == '+') && (src[i - 1] == 'e' || src[i - 1] == 'E')) ||
                  c == 'e' || c == 'E')) {
                emit(2, src + start, i - start);
                st = S_START;
                i--;
            }
            break;
        case S_HEX:
            if (!isxdigit(c)) {
                emit(2, src + start, i - start);
                st = S_START;
                i--;
            }
            break;
        case S_STRING:
            if (c == '\\')
                st = S_ESCAPE;
            else if (c == '"') {
                emit(3, src + start, i + 1 - start);
                st = S_START;
            } else if (c == 0 || c == '\n') {
                emit(6, src + start, i - start);
                st = S_START;
            }
            break;
        case S_ESCAPE:
            st = c ? S_STRING : S_START;
            break;
        case S_SLASH:
            if (c == '/')
                st = S_LINE_COMMENT;
            else if (c == '*')
                st = S_BLOCK_COMMENT;
            else {
                emit(4, src + start, 1);
                st = S_START;
                i--;
            }
            break;
        case S_LINE_COMMENT:
            if (c == '\n' || c == 0) {
                emit(5, src + start, i - start);
                st = S_START;
            }
            break;
        case S_BLOCK_COMMENT:
            if (c == '*')
                st = S_BLOCK_STAR;
            else if (c == 0) {
                emit(6, src + start, i - start);
                st = S_START;
            }
            break;
        case S_BLOCK_STAR:
            if (c == '/') {
                emit(5, src + start, i + 1 - start);
                st = S_START;
            } else if (c != '*')
                st = c ? S_BLOCK_COMMENT : S_START;
            break;
        case S_OP:
            /* Two-character operators: ==, !=, <=, >=, &&, ||, <<, >>, ++, --, +=, ... */
            if (c && strchr("=&|<>+-", c) && strchr("=!<>&|+-*/%^", src[start]) &&
                (c == '=' || c == src[start])) {
                if (i + 1 < n && src[i + 1] == '=' && (c == '<' || c == '>')) {
                    emit(4, src + start, 3);
                    i++;
                } else
                    emit(4, src + start, 2);
            } else {
                emit(4, src + start, 1);
                i--;
            }
            st = S_START;
            break;
        }
    }
}

int main(void)
{
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), stdin);

    if (n == 0)
        lex(builtin, strlen(builtin));
    else
        lex(buf, n);
    for (int k = 0; k < 8; k++)
        printf("%s=%u%s", kinds[k], counts[k], k < 7 ? " " : "\n");
    return counts[6] ? 1 : 0;
}
