/* Small helpers shared by every module: allocation that aborts on OOM (as h2o
 * does: half-handling ENOMEM in a config server only moves the crash), bounded
 * string copies and constant-time comparison. Everything returned by xmalloc,
 * xstrdup and friends is freed by the caller with free(). */
#ifndef W3_UTIL_H
#define W3_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define W3_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

_Noreturn void w3_oom(const char *file, int line);
#define W3_CHECK_ALLOC(p)                                                                                              \
    do {                                                                                                               \
        if ((p) == NULL)                                                                                               \
            w3_oom(__FILE__, __LINE__);                                                                                \
    } while (0)

void *w3_xmalloc_(size_t n, const char *file, int line);
void *w3_xcalloc_(size_t nmemb, size_t n, const char *file, int line);
void *w3_xrealloc_(void *p, size_t n, const char *file, int line);
char *w3_xstrdup_(const char *s, const char *file, int line);
char *w3_xstrndup_(const char *s, size_t n, const char *file, int line);
#define xmalloc(n) w3_xmalloc_((n), __FILE__, __LINE__)
#define xcalloc(m, n) w3_xcalloc_((m), (n), __FILE__, __LINE__)
#define xrealloc(p, n) w3_xrealloc_((p), (n), __FILE__, __LINE__)
#define xstrdup(s) w3_xstrdup_((s), __FILE__, __LINE__)
#define xstrndup(s, n) w3_xstrndup_((s), (n), __FILE__, __LINE__)

/* Wipes n bytes of a secret with explicit_bzero (a memset before free may
 * be optimised away), then frees it. NULL is fine. */
void w3_free_secret(void *p, size_t n);

/* Copies src into dst[cap]; false (dst emptied) when it does not fit. */
bool w3_strlcpy(char *dst, const char *src, size_t cap);

/* Compares two byte strings in time independent of where they differ. */
bool w3_const_eq(const void *a, size_t alen, const void *b, size_t blen);

/* Growable byte buffer; w3_buf_free() releases data. Always NUL-terminated. */
typedef struct w3_buf {
    char *data;
    size_t len;
    size_t cap;
} w3_buf_t;
void w3_buf_add(w3_buf_t *b, const void *p, size_t n);
void w3_buf_adds(w3_buf_t *b, const char *s);
void w3_buf_printf(w3_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void w3_buf_free(w3_buf_t *b);
/* Makes room for extra more bytes (and the NUL) without changing len. */
void w3_buf_reserve(w3_buf_t *b, size_t extra);

/* Bounded builder that fails closed: once an append would take it past max
 * bytes it is marked failed, keeps what it had and ignores every further
 * append, so a value is either whole or refused, never silently cut.
 * w3_sbuf_done() says which (0 or -E2BIG); w3_sbuf_free() releases it. */
typedef struct w3_sbuf {
    w3_buf_t b;
    size_t max;
    bool failed;
} w3_sbuf_t;
void w3_sbuf_init(w3_sbuf_t *s, size_t max);
void w3_sbuf_add(w3_sbuf_t *s, const void *p, size_t n);
void w3_sbuf_adds(w3_sbuf_t *s, const char *str);
void w3_sbuf_printf(w3_sbuf_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void w3_sbuf_vprintf(w3_sbuf_t *s, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* 0 when everything appended fits, -E2BIG once anything did not. */
int w3_sbuf_done(const w3_sbuf_t *s);
/* The text so far, "" when empty (valid until the next append or free). */
const char *w3_sbuf_str(const w3_sbuf_t *s);
size_t w3_sbuf_len(const w3_sbuf_t *s);
void w3_sbuf_free(w3_sbuf_t *s);

/* Reads a whole file (up to max bytes) into a NUL-terminated malloc'd buffer.
 * Returns 0, -errno, or -EFBIG when larger than max. */
int w3_read_file(const char *path, size_t max, char **out, size_t *len);

/* Monotonic clock in microseconds. */
uint64_t w3_now_us(void);

/* true when s is a real ISO-8601 date or UTC/offset date-time:
 * YYYY-MM-DD, optionally followed by THH:MM[:SS[.fraction]] and Z or ±HH:MM;
 * the month, day (leap years included), hour, minute and second must exist. */
bool w3_iso8601_valid(const char *s);

/* For a JSON text that a parser refused at byte offset pos (e.g. jansson's
 * duplicate key error), the RFC 6901 pointer of the value being read there
 * ("/a/0/b"), appended to out. Best effort on malformed input. */
void w3_json_pointer_at(const char *json, size_t len, size_t pos, w3_buf_t *out);
/* Appends "/" and the key k (n bytes) escaped as RFC 6901 says (~0, ~1). */
void w3_json_pointer_add(w3_buf_t *out, const char *k, size_t n);

/* Length of the longest valid UTF-8 sequence starting at s (1–4), or 0
 * when the byte at s does not start one (n bytes available). */
size_t w3_utf8_seq(const unsigned char *s, size_t n);
/* Length of the longest valid UTF-8 prefix of s[0..n) (n when all is). */
size_t w3_utf8_valid_prefix(const char *s, size_t n);
/* Appends s[0..n) to out with every byte that is not part of valid UTF-8
 * replaced, so what follows is always valid UTF-8: by U+FFFD, or (latin1)
 * by the character that byte is in Latin-1 (0xE9 → U+00E9). */
void w3_buf_add_utf8_repaired(w3_buf_t *out, const char *s, size_t n, bool latin1);
#define w3_buf_add_utf8(out, s, n) w3_buf_add_utf8_repaired((out), (s), (n), false)
/* Appends s as a JSON string literal, quotes included: '"', '\\' and the
 * control characters escaped (\n, \u001f, …), a byte that is not valid
 * UTF-8 written as \ufffd, so the result always parses. */
void w3_buf_add_json_string(w3_buf_t *out, const char *s);

/* Lower-case hex MD5 of s into out[33] (OpenSSL EVP). */
void w3_md5_hex(const char *s, size_t n, char out[33]);

/* FNV-1a, 64 bits: h (W3_FNV_OFFSET to start) folded with the bytes of s. */
#define W3_FNV_OFFSET 1469598103934665603ULL
#define W3_FNV_PRIME 1099511628211ULL
/* The value of a hexadecimal digit, -1 for any other byte. */
static inline int w3_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static inline uint64_t w3_fnv1a(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * W3_FNV_PRIME;
    return h;
}

/* Eight bytes at a time (SWAR): each returns a word whose byte's high bit
 * is set where a byte of w matches, exact as a yes/no for the whole word
 * (a byte above a match may be flagged too). */
#define W3_SWAR_ONES 0x0101010101010101ULL
#define W3_SWAR_HIGHS 0x8080808080808080ULL
/* a byte of w equals c */
static inline uint64_t w3_swar_byte(uint64_t w, unsigned char c)
{
    uint64_t x = w ^ (W3_SWAR_ONES * c);
    return (x - W3_SWAR_ONES) & ~x & W3_SWAR_HIGHS;
}
/* a byte of w is below n (n <= 0x80) */
static inline uint64_t w3_swar_below(uint64_t w, unsigned char n)
{
    return (w - W3_SWAR_ONES * n) & ~w & W3_SWAR_HIGHS;
}
/* The offset in memory of the first byte flagged in m (not 0), a mask of
 * the functions above or their OR: on a little-endian machine the lowest
 * flagged byte is always a true match (false positives only sit above
 * one). -1 elsewhere: the caller looks at the bytes itself. */
static inline int w3_swar_first(uint64_t m)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_ctzll(m) >> 3;
#else
    (void)m;
    return -1;
#endif
}

/* Past the bytes a JSON string can hold as they are (0x20..0x7F but '"' and
 * '\\'), in blocks while none of them is special: strings are nine tenths of
 * a CDR's bytes (the CDR JSON reader's string scanner). */
static inline const unsigned char *w3_json_plain_end(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
    /* sixteen at a time where x86-64 always can: a signed compare with 0x20
     * flags the bytes >= 0x80 too (they are negative) */
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                       _mm_cmplt_epi8(v, space));
        unsigned bits = (unsigned)_mm_movemask_epi8(special);
        if (bits)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t special = w3_swar_below(v, 0x20)   /* a byte < 0x20 */
                           | (v & W3_SWAR_HIGHS)    /* a byte >= 0x80 */
                           | w3_swar_byte(v, '"')   /* a '"' */
                           | w3_swar_byte(v, '\\'); /* a backslash */
        if (special) {
            int first = w3_swar_first(special); /* no byte loop where it is known */
            if (first >= 0)
                return p + first;
            break;
        }
        p += 8;
    }
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    return p;
}

#endif
