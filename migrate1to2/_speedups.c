/* The common case of the exact conversion, for NDJSON chunks, in one pass over the bytes.
 *
 * An accelerator for the Python converter (migrate1to2.rawjson and records.convert_each), which
 * stays the reference. Each line of a chunk is either done here or *declined*: handed to Python
 * alone (convert_mixed's callback or its list of declined records), which converts or rejects it
 * and gives every error its message and location. So this file only has to be right about what
 * it does itself, never about why something is wrong:
 *
 * - every byte is validated as strict JSON (RFC 8259) and strict UTF-8, nested values too;
 * - the keys of the root, and of the container being opened, must be written without escapes and
 *   not duplicated; whitespace between the tokens of those two levels, or around the root (records
 *   written by json.dumps), is read on a second try, when the compact reading fails, and written
 *   as Python writes it: such a level is minified, all of it (see convert_record);
 * - the spec's version detection decides: a record in the source version (1.0 with or without
 *   ``properties`` when upgrading) is converted, values copied byte for byte; one already in the
 *   target version, or reading the same in both ({} or only ``event_name``), is written as it is;
 *   an ambiguous record, a collision, and anything else (escapes in the keys of those two levels,
 *   deep nesting, invalid text, a line over the size limit) is declined;
 * - blank lines are skipped, a CR before a newline dropped (the output has LF line ends).
 *
 * convert_chunk keeps the older all-or-nothing contract (every record converted, or None), used
 * for arrays; convert_text does one record (upgrade_json). What this file outputs is, byte for
 * byte, what the Python converter makes of the same records (tests compare the two on generated,
 * mixed, damaged and random input). No Python object is touched while the GIL is released.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#ifdef __GLIBC__
#include <limits.h>
#include <malloc.h>
#endif

typedef const unsigned char *ptr;

typedef struct {
    ptr key;          /* the key with its quotes */
    Py_ssize_t klen;
    ptr value;
    Py_ssize_t vlen;
} member;

#define MAX_MEMBERS 512
#define MAX_DEPTH 256

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
#define HAS_ZERO(v) (((v) - ONES) & ~(v) & HIGHS)

static int hex4(ptr p, ptr end) {
    int value = 0;
    if (end - p < 4) return -1;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        int digit;
        if (c >= '0' && c <= '9') digit = c - '0';
        else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
        else return -1;
        value = value * 16 + digit;
    }
    return value;
}

/* The length of the strict UTF-8 sequence of a non-ASCII character at p, or 0. */
static int utf8_length(ptr p, ptr end) {
    unsigned char c = p[0];
    Py_ssize_t left = end - p;
    if (c >= 0xC2 && c <= 0xDF) {
        return (left >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || (p[2] & 0xC0) != 0x80) return 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c == 0xE0) lo = 0xA0;        /* no overlong forms */
        else if (c == 0xED) hi = 0x9F;   /* no surrogates */
        return (p[1] >= lo && p[1] <= hi) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c == 0xF0) lo = 0x90;
        else if (c == 0xF4) hi = 0x8F;   /* nothing above U+10FFFF */
        return (p[1] >= lo && p[1] <= hi) ? 4 : 0;
    }
    return 0;
}

/* p is at an opening quote: the end of the string, or NULL. *escaped is set when it holds a backslash. */
static inline __attribute__((always_inline)) ptr scan_string(ptr p, ptr end, int *escaped) {
    p++;
    for (;;) {
        /* Up to the first quote, backslash, control or non-ASCII byte, many bytes at a time. */
#ifdef __SSE2__
        /* Sixteen at a time (SSE2 is part of x86-64): as signed bytes, both the control characters
         * and the non-ASCII bytes (0x80 and up, negative) are below 0x20. */
        const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
        while (end - p >= 16) {
            __m128i block = _mm_loadu_si128((const __m128i *)p);
            __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(block, quote), _mm_cmpeq_epi8(block, backslash)),
                                           _mm_cmplt_epi8(block, space));
            int mask = _mm_movemask_epi8(special);
            if (mask) {
                p += __builtin_ctz((unsigned)mask);
                break;
            }
            p += 16;
        }
#elif !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* Elsewhere eight at a time, in a 64-bit word. The borrows of the subtractions only run
         * upwards from a byte that is one of those, so the lowest flag set is exact (flags above it
         * may be spurious, and are not looked at). */
        while (end - p >= 8) {
            uint64_t word;
            memcpy(&word, p, 8);
            uint64_t special = (word & HIGHS) | HAS_ZERO(word ^ (ONES * '"')) | HAS_ZERO(word ^ (ONES * '\\'))
                               | ((word - ONES * 0x20) & ~word & HIGHS);
            if (special) {
                p += __builtin_ctzll(special) >> 3;
                break;
            }
            p += 8;
        }
#endif
        if (p >= end) return NULL;
        unsigned char c = *p;
        if (c == '"') return p + 1;
        if (c == '\\') {
            *escaped = 1;
            if (end - p < 2) return NULL;
            switch (p[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                p += 2;
                continue;
            case 'u': {
                int unit = hex4(p + 2, end);
                if (unit < 0) return NULL;
                p += 6;
                if (unit >= 0xD800 && unit <= 0xDBFF) {
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return NULL;
                    int low = hex4(p + 2, end);
                    if (low < 0xDC00 || low > 0xDFFF) return NULL;
                    p += 6;
                } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
                    return NULL;
                }
                continue;
            }
            default:
                return NULL;
            }
        }
        if (c < 0x20) return NULL;
        if (c < 0x80) {
            p++;
            continue;
        }
        int length = utf8_length(p, end);
        if (!length) return NULL;
        p += length;
    }
}

static int is_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static ptr skip_ws_slow(ptr p, ptr end) {
    while (p < end && is_ws(*p)) p++;
    return p;
}

/* Past any whitespace at p; compact text (the common case) costs one comparison. */
static inline ptr skip_ws(ptr p, ptr end) {
    return (p < end && *p <= ' ') ? skip_ws_slow(p, end) : p;
}

/* The end of [p, end) less the whitespace it ends with. */
static ptr trim_ws(ptr p, ptr end) {
    while (end > p && is_ws(end[-1])) end--;
    return end;
}

static ptr scan_digits(ptr p, ptr end) {
    ptr start = p;
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* Eight at a time: a byte is a digit when its high nibble is 3 and stays 3 with 6 added (0x30-0x39).
     * A carry out of a byte comes only from one of 0xFA and up (not a digit) and only changes the bytes
     * above it, so the lowest byte flagged is exact. */
    while (end - p >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        uint64_t other = ((word & (ONES * 0xF0)) ^ (ONES * 0x30)) | (((word + ONES * 6) & (ONES * 0xF0)) ^ (ONES * 0x30));
        if (other) {
            p += __builtin_ctzll(other) >> 3;
            return p > start ? p : NULL;
        }
        p += 8;
    }
#endif
    while (p < end && (unsigned)(*p - '0') < 10) p++;
    return p > start ? p : NULL;
}

static ptr scan_number(ptr p, ptr end) {
    if (*p == '-') p++;
    if (p >= end) return NULL;
    if (*p == '0') p++;
    else if (!(p = scan_digits(p, end))) return NULL;
    if (p < end && *p == '.') {
        if (!(p = scan_digits(p + 1, end))) return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (!(p = scan_digits(p, end))) return NULL;
    }
    return p;
}

static ptr scan_literal(ptr p, ptr end, const char *word, Py_ssize_t length) {
    return (end - p >= length && memcmp(p, word, (size_t)length) == 0) ? p + length : NULL;
}

/* The end of the (strictly valid) JSON value at p, whitespace allowed inside it; NULL otherwise.
 * ``depth`` containers are open around it already. A loop with a stack of the open containers' closing
 * brackets rather than a recursion: values are small and many, and a call for each costs. */
static ptr skip_value(ptr p, ptr end, int depth) {
    unsigned char closers[MAX_DEPTH];
    int open = 0;
    int escaped = 0;
value:
    if (p >= end) return NULL;
    switch (*p) {
    case '"':
        if (!(p = scan_string(p, end, &escaped))) return NULL;
        break;
    case '{':
        if (depth + open >= MAX_DEPTH) return NULL;
        p = skip_ws(p + 1, end);
        if (p < end && *p == '}') {
            p++;
            break;
        }
        closers[open++] = '}';
        goto key;
    case '[':
        if (depth + open >= MAX_DEPTH) return NULL;
        p = skip_ws(p + 1, end);
        if (p < end && *p == ']') {
            p++;
            break;
        }
        closers[open++] = ']';
        goto value;
    case 't':
        if (!(p = scan_literal(p, end, "true", 4))) return NULL;
        break;
    case 'f':
        if (!(p = scan_literal(p, end, "false", 5))) return NULL;
        break;
    case 'n':
        if (!(p = scan_literal(p, end, "null", 4))) return NULL;
        break;
    case ' ': case '\t': case '\r': case '\n':  /* whitespace before a value inside a container */
        if (open == 0) return NULL;
        p = skip_ws_slow(p, end);
        goto value;
    default:
        if (!(*p == '-' || (unsigned)(*p - '0') < 10) || !(p = scan_number(p, end))) return NULL;
        break;
    }
    /* After a value: the end, or a comma and the next member or element, or a closing bracket.
     * Whitespace is looked for only where the expected byte is not there (compact text is common). */
    while (open > 0) {
        if (p >= end) return NULL;
        if (*p == ',') {
            p++;
            if (closers[open - 1] == '}') goto key;
            goto value;
        }
        if (*p != closers[open - 1]) {
            ptr next = skip_ws_slow(p, end);
            if (next == p) return NULL;  /* neither whitespace nor what may follow a value */
            p = next;
            continue;
        }
        p++;
        open--;
    }
    return p;
key:  /* a member: "key" : value */
    if (p >= end) return NULL;
    if (*p != '"') {
        p = skip_ws(p, end);
        if (p >= end || *p != '"') return NULL;
    }
    if (!(p = scan_string(p, end, &escaped))) return NULL;
    if (p >= end) return NULL;
    if (*p != ':') {
        p = skip_ws(p, end);
        if (p >= end || *p != ':') return NULL;
    }
    p++;
    goto value;
}

/* The members of the compact object at p (keys without escapes); the end of the object, or NULL.
 * Its values are checked as nested at ``depth`` (see skip_value).
 *
 * With ``nested`` (the root of a record), the value of the member named ``nested->key``, when it is an
 * object, is read here as a compact object of its own into ``nested->members`` rather than skipped:
 * the container being opened is read once, not validated as a value and then again for its members.
 * Its count is -1 when there is no such member. */
typedef struct {
    const char *key;  /* with its quotes */
    Py_ssize_t klen;
    member *members;
    Py_ssize_t count;
} nested_object;

/* The one member scanner: scan_members (compact, for the converter) and spaced_members (whitespace
 * allowed between the tokens: the converter's second try, and the audit's census) are this function
 * with ``spaced`` 0 or 1, each compiled on its own (it is always inlined), so the compact one tests for
 * no whitespace at all. The nested container is read by the same variant as the root. */
static ptr scan_members(ptr p, ptr end, member *members, Py_ssize_t *count, int depth, nested_object *nested);
static ptr spaced_members(ptr p, ptr end, member *members, Py_ssize_t *count, int depth, nested_object *nested);

static inline __attribute__((always_inline)) ptr members_of(ptr p, ptr end, member *members, Py_ssize_t *count,
                                                              int depth, nested_object *nested, int spaced) {
#define SPACE(q) (spaced ? skip_ws((q), end) : (q))
    Py_ssize_t n = 0;
    if (nested) nested->count = -1;
    if (p >= end || *p != '{') return NULL;
    p = SPACE(p + 1);
    if (p < end && *p == '}') {
        *count = 0;
        return p + 1;
    }
    for (;;) {
        if (p >= end || *p != '"' || n == MAX_MEMBERS) return NULL;
        int escaped = 0;
        ptr key = p;
        if (!(p = scan_string(p, end, &escaped)) || escaped) return NULL;
        members[n].key = key;
        members[n].klen = p - key;
        p = SPACE(p);
        if (p >= end || *p != ':') return NULL;
        ptr value = SPACE(p + 1);
        if (nested && value < end && *value == '{' && members[n].klen == nested->klen
            && memcmp(key, nested->key, (size_t)nested->klen) == 0) {
            /* its values are nested one level deeper than the root's, as skip_value would count them */
            p = spaced ? spaced_members(value, end, nested->members, &nested->count, depth + 1, NULL)
                       : scan_members(value, end, nested->members, &nested->count, depth + 1, NULL);
            if (!p) return NULL;
        } else if (!(p = skip_value(value, end, depth))) {
            return NULL;
        }
        members[n].value = value;
        members[n].vlen = p - value;
        n++;
        p = SPACE(p);
        if (p >= end) return NULL;
        if (*p == '}') break;
        if (*p != ',') return NULL;
        p = SPACE(p + 1);
    }
#undef SPACE
    /* No key twice: a duplicate would silently lose one of its values. */
    for (Py_ssize_t i = 1; i < n; i++) {
        for (Py_ssize_t j = 0; j < i; j++) {
            if (members[i].klen == members[j].klen && memcmp(members[i].key, members[j].key, (size_t)members[i].klen) == 0)
                return NULL;
        }
    }
    *count = n;
    return p + 1;
}

static ptr scan_members(ptr p, ptr end, member *members, Py_ssize_t *count, int depth, nested_object *nested) {
    return members_of(p, end, members, count, depth, nested, 0);
}

static ptr spaced_members(ptr p, ptr end, member *members, Py_ssize_t *count, int depth, nested_object *nested) {
    return members_of(p, end, members, count, depth, nested, 1);
}

/* Whether the object [p, end), its n members read by spaced_members, has no whitespace between its own
 * tokens: its braces, members, colons and commas then account for every byte (a member's value starts
 * and ends with a token, never with whitespace). Python's test of the same (rawjson._accounts_for). */
static int compact(ptr p, ptr end, const member *members, Py_ssize_t n) {
    Py_ssize_t length = n ? 2 + n - 1 : 2;
    for (Py_ssize_t i = 0; i < n; i++) length += members[i].klen + 1 + members[i].vlen;
    return length == end - p;
}

/* Copy the valid JSON value [p, p + length) to out without its whitespace, strings byte for byte: what
 * msgspec.json.format(value, indent=-1) makes of it (every token keeps its text). */
static unsigned char *put_minified(unsigned char *out, ptr p, Py_ssize_t length) {
    ptr end = p + length;
    while (p < end) {
        if (*p == '"') {
            int escaped = 0;
            ptr string = p;
            p = scan_string(p, end, &escaped);  /* never NULL: the value was validated */
            memcpy(out, string, (size_t)(p - string));
            out += p - string;
        } else {
            if (!is_ws(*p)) *out++ = *p;
            p++;
        }
    }
    return out;
}

static int is_key(const member *m, const char *quoted, Py_ssize_t length) {
    return m->klen == length && memcmp(m->key, quoted, (size_t)length) == 0;
}

#define IS_KEY(m, literal) is_key((m), (literal), (Py_ssize_t)(sizeof(literal) - 1))

typedef struct {
    const char *opened;
    Py_ssize_t opened_length;
    const char *wrapped;  /* with its quotes */
    Py_ssize_t wrapped_length;
} direction;

static const direction TO_V2 = {"\"properties\"", 12, "\"context\"", 9};
static const direction TO_V1 = {"\"context\"", 9, "\"properties\"", 12};

static unsigned char *put(unsigned char *out, ptr data, Py_ssize_t length) {
    memcpy(out, data, (size_t)length);
    return out + length;
}

/* What became of one record. */
enum { DECLINED = 0, CONVERTED = 1, UNCHANGED = 2 };

/* A member "key":value written at out, its value minified (put_minified) or as it is: inlined for the
 * common case (a compact record), which costs what a copy costs. */
static unsigned char *put_minified_member(unsigned char *out, const member *m) {
    out = put(out, m->key, m->klen);
    *out++ = ':';
    return put_minified(out, m->value, m->vlen);
}

static inline __attribute__((always_inline)) unsigned char *put_member(unsigned char *out, const member *m, int minify) {
    return minify ? put_minified_member(out, m) : put(out, m->key, m->klen + 1 + m->vlen);
}

/* {"event_name":..., <inner members>, "wrapped":{<other root members>}} and a newline at out, the values
 * of the root or of the container minified as the flags say (constants where it is inlined: the compact
 * case has no test for them). */
static inline __attribute__((always_inline)) unsigned char *put_converted(
        unsigned char *out, const direction *d, const member *root, Py_ssize_t nroot, Py_ssize_t name,
        Py_ssize_t opened, const member *inner, Py_ssize_t ninner, int minify_root, int minify_inner) {
    *out++ = '{';
    if (name >= 0) {
        out = put_member(out, &root[name], minify_root);
        *out++ = ',';
    }
    for (Py_ssize_t i = 0; i < ninner; i++) {
        out = put_member(out, &inner[i], minify_inner);
        *out++ = ',';
    }
    out = put(out, (ptr)d->wrapped, d->wrapped_length);
    *out++ = ':';
    *out++ = '{';
    int first = 1;
    for (Py_ssize_t i = 0; i < nroot; i++) {
        if (i == opened || i == name) continue;
        if (!first) *out++ = ',';
        first = 0;
        out = put_member(out, &root[i], minify_root);
    }
    *out++ = '}';
    *out++ = '}';
    *out++ = '\n';
    return out;
}

/* Convert, or pass through, one record [p, end) into *out (advanced past what it wrote).
 *
 * The spec's version detection, on the root's members: both containers, or a container that is not
 * an object, is left to Python (which rejects it); ``properties`` means 1.0, ``context`` 2.0; with
 * neither, a root holding more than ``event_name`` is 1.0 (it converts with an empty container) and
 * the rest ({} or only ``event_name``) reads the same in both. A record in the source version is
 * converted; any other is written unchanged, byte for byte, as Python does with such a record.
 *
 * A compact record is read once. With ``spaced``, one that is not (the compact scan failed) is read
 * again allowing whitespace around the root and between the tokens of the root and of the container
 * being opened, and written as Python writes it (rawjson._members): less the whitespace around it
 * when unchanged; when converted, a level with whitespace between its own tokens is minified, all of
 * it: every value of a spaced root (the container's too), or only the container's values when the
 * root is compact (the root's other values then keep their bytes, whitespace inside them included). */
static int convert_record(ptr p, ptr end, const direction *d, int to_v2, unsigned char **out_p,
                          member *root, member *inner, int spaced) {
    Py_ssize_t nroot, ninner = 0;
    nested_object box_members = {d->opened, d->opened_length, inner, -1};
    int rescanned = 0, minify_root = 0, minify_inner = 0;
    if (scan_members(p, end, root, &nroot, 2, &box_members) != end) {
        if (!spaced) return DECLINED;
        rescanned = 1;
        p = skip_ws(p, end);
        end = trim_ws(p, end);
        if (spaced_members(p, end, root, &nroot, 2, &box_members) != end) return DECLINED;
        minify_root = !compact(p, end, root, nroot);
    }
    Py_ssize_t opened = -1, wrapped = -1, name = -1;
    for (Py_ssize_t i = 0; i < nroot; i++) {
        if (is_key(&root[i], d->opened, d->opened_length)) opened = i;
        else if (is_key(&root[i], d->wrapped, d->wrapped_length)) wrapped = i;
        else if (IS_KEY(&root[i], "\"event_name\"")) name = i;
    }
    if (opened >= 0 && wrapped >= 0) return DECLINED;  /* both containers: an error */
    Py_ssize_t box_at = opened >= 0 ? opened : wrapped;
    if (box_at >= 0 && root[box_at].value[0] != '{') return DECLINED;  /* a container that is not an object */
    int is_source;
    if (opened >= 0) is_source = 1;
    else if (wrapped >= 0) is_source = 0;
    else if (nroot > 1 || (nroot == 1 && name < 0)) is_source = to_v2;  /* neither: 1.0 when it has meta-data */
    else is_source = 0;                                                  /* {} or only event_name: either */
    unsigned char *out = *out_p;
    if (!is_source) {  /* already in the target version, or either: the record as it is */
        out = put(out, p, end - p);
        *out++ = '\n';
        *out_p = out;
        return UNCHANGED;
    }
    if (opened >= 0) {
        ninner = box_members.count;  /* read with the root (an object: checked above) */
        if (ninner < 0) return DECLINED;
        for (Py_ssize_t i = 0; i < ninner; i++) {
            if (IS_KEY(&inner[i], "\"event_name\"") || IS_KEY(&inner[i], "\"properties\"")
                || IS_KEY(&inner[i], "\"context\""))
                return DECLINED;  /* a collision: an error */
        }
        const member *box = &root[opened];
        minify_inner = minify_root || (rescanned && !compact(box->value, box->value + box->vlen, inner, ninner));
    }
    if (!rescanned) out = put_converted(out, d, root, nroot, name, opened, inner, ninner, 0, 0);  /* compact */
    else out = put_converted(out, d, root, nroot, name, opened, inner, ninner, minify_root, minify_inner);
    *out_p = out;
    return CONVERTED;
}

/* A record the C code left to Python: where it is, and where its output goes. */
typedef struct {
    Py_ssize_t line;       /* its line, counted from 0 in the chunk */
    Py_ssize_t start, end; /* its bytes in the chunk, without the newline (a CR before it is kept) */
    Py_ssize_t at;         /* where its output goes in the C output */
    Py_ssize_t converted, unchanged;  /* the C code's records before it */
} declined;

typedef struct {
    const direction *d;
    int to_v2;
    int mixed;             /* 0: give up at the first record not converted (the all-or-nothing contract) */
    int spaced;            /* records with whitespace between their tokens are done too (see convert_record) */
    Py_ssize_t limit;      /* a longer line is left to Python (which rejects it as oversized) */
    Py_ssize_t converted, unchanged;
    declined *declined;    /* malloc'd, grown as needed */
    Py_ssize_t ndeclined, capacity;
    int no_memory;
    /* With a callback, a declined record is converted at once: the GIL is taken back (``saved``, when
     * it was let go), the callback returns the record's output, written in place (the output object
     * grows when it must), or None to stop there. */
    PyObject *callback;
    PyThreadState *saved;
    PyObject *result;      /* the output bytes object, and where it starts and ends */
    unsigned char *out_start, *out_end;
    Py_ssize_t newlines;   /* in the whole chunk */
    int failed, stopped;
} run;

/* Whether [p, end) holds only JSON whitespace other than newlines: a blank line, not a record. */
static int blank(ptr p, ptr end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
    return p == end;
}

static int decline(run *r, Py_ssize_t line, Py_ssize_t start, Py_ssize_t end, Py_ssize_t at) {
    if (r->ndeclined == r->capacity) {
        Py_ssize_t capacity = r->capacity ? r->capacity * 2 : 16;
        declined *grown = realloc(r->declined, (size_t)capacity * sizeof(declined));
        if (!grown) {
            r->no_memory = 1;
            return 0;
        }
        r->declined = grown;
        r->capacity = capacity;
    }
    declined *entry = &r->declined[r->ndeclined++];
    entry->line = line;
    entry->start = start;
    entry->end = end;
    entry->at = at;
    entry->converted = r->converted;
    entry->unchanged = r->unchanged;
    return 1;
}

/* The output a per-line bound allows for the lines of [p, end), of which ``newlines`` end with a newline. */
/* The newlines in [p, end). */
static Py_ssize_t count_newlines(ptr p, ptr end) {
    Py_ssize_t count = 0;
#ifdef __SSE2__
    /* Sixteen bytes at a time: each lane counts its newlines (a match is -1, subtracted) for up to
     * 255 blocks, then the lanes are summed (psadbw). */
    const __m128i newline = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    while (end - p >= 16) {
        __m128i lanes = zero;
        for (int blocks = 0; blocks < 255 && end - p >= 16; blocks++, p += 16)
            lanes = _mm_sub_epi8(lanes, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), newline));
        __m128i sums = _mm_sad_epu8(lanes, zero);
        count += _mm_cvtsi128_si32(sums) + _mm_extract_epi16(sums, 4);
    }
#endif
    for (; p < end; p++) count += *p == '\n';
    return count;
}

/* The most a record of n bytes may become: the container's new name, its braces, a comma, the newline. */
#define AT_MOST(r, n) ((n) + (r)->d->wrapped_length + 8)

/* Make room for ``more`` bytes at *out_p, growing the output object (the GIL is taken for that, when it
 * was let go). 0, with an exception set, when there is no memory. */
static int make_room(run *r, unsigned char **out_p, Py_ssize_t more, Py_ssize_t rest) {
    Py_ssize_t used = *out_p - r->out_start;
    if (r->out_end - *out_p >= more) return 1;
    Py_ssize_t capacity = r->out_end - r->out_start;
    Py_ssize_t need = used + more + rest + rest / 2;  /* the rest of the input may grow this much too */
    if (need < 2 * capacity) need = 2 * capacity;
    if (r->saved) PyEval_RestoreThread(r->saved);
    int done = _PyBytes_Resize(&r->result, need) == 0;
    if (r->saved) r->saved = PyEval_SaveThread();
    if (!done) return 0;
    r->out_start = (unsigned char *)PyBytes_AS_STRING(r->result);
    r->out_end = r->out_start + need;
    *out_p = r->out_start + used;
    return 1;
}

/* Give the declined record on ``line``, [start + from, start + to), to the callback and write what it
 * returns at *out_p. 1: go on; 0: stop here; -1: an exception is set. */
static int call_back(run *r, ptr start, ptr end, Py_ssize_t line, Py_ssize_t from, Py_ssize_t to,
                     unsigned char **out_p) {
    if (r->saved) PyEval_RestoreThread(r->saved);
    PyThreadState *saved = r->saved;
    r->saved = NULL;  /* make_room below runs with the GIL */
    int status = 1;
    PyObject *piece = PyObject_CallFunction(r->callback, "nnnnn", line, from, to, r->converted, r->unchanged);
    if (!piece) {
        status = -1;
    } else if (piece == Py_None) {
        status = 0;
    } else if (!PyBytes_Check(piece)) {
        PyErr_SetString(PyExc_TypeError, "the callback of convert_mixed returns bytes or None");
        status = -1;
    } else {
        Py_ssize_t length = PyBytes_GET_SIZE(piece);
        if (!make_room(r, out_p, length, end - (start + to)))
            status = -1;
        else
            *out_p = put(*out_p, (ptr)PyBytes_AS_STRING(piece), length);
    }
    Py_XDECREF(piece);
    if (saved) r->saved = PyEval_SaveThread();
    return status;
}

/* Every line of [start, end) into r's output: the output's end, or NULL (all-or-nothing mode, no memory,
 * or an exception from the callback). */
static unsigned char *convert_all(ptr start, ptr end, run *r) {
    member root[MAX_MEMBERS], inner[MAX_MEMBERS];
    unsigned char *out = r->out_start;
    Py_ssize_t line = 0;
    ptr p = start;
    while (p < end) {
        if (*p == '\n') {  /* blank lines cost what reading them costs */
            p++;
            line++;
            continue;
        }
        ptr newline = memchr(p, '\n', (size_t)(end - p));
        ptr line_end = newline ? newline : end;
        ptr text_end = line_end;
        if (text_end[-1] == '\r') text_end--;  /* CRLF: the output has LF line ends */
        int kind = DECLINED;
        if (!make_room(r, &out, AT_MOST(r, text_end - p), end - line_end)) {
            r->no_memory = 1;
            return NULL;
        }
        if (text_end - p <= r->limit) {
            if (r->mixed && *p != '{' && blank(p, text_end)) kind = -1;  /* all-or-nothing: not the common case */
            else if (*p == '{' || (r->spaced && is_ws(*p)))
                kind = convert_record(p, text_end, r->d, r->to_v2, &out, root, inner, r->spaced);
        }
        if (kind == CONVERTED) r->converted++;
        else if (kind == UNCHANGED) r->unchanged++;
        if (kind != CONVERTED && kind != -1 && !r->mixed) return NULL;
        if (kind == DECLINED) {
            if (r->callback) {
                int status = call_back(r, start, end, line, p - start, line_end - start, &out);
                if (status < 0) {
                    r->failed = 1;
                    return NULL;
                }
                if (status == 0) {  /* the newlines of the whole chunk are still counted */
                    r->stopped = 1;
                    r->newlines = line + count_newlines(p, end);
                    return out;
                }
            } else if (!decline(r, line, p - start, line_end - start, out - r->out_start)) {
                return NULL;
            }
        }
        p = line_end + 1;
        line++;
    }
    r->newlines = end > start && end[-1] != '\n' ? line - 1 : line;
    return out;
}

/* Convert the chunk in ``view``; the output bytes, or NULL with *none set when the answer is None
 * (nothing converted in all-or-nothing mode), else with an exception. */
static PyObject *convert_buffer(Py_buffer *view, run *r, Py_ssize_t *newlines, int *none) {
    ptr start = (ptr)view->buf;
    ptr end = start + view->len;
    *none = 0;
    /* Room for records a quarter longer than they are (records of about 70 bytes or more grow less),
     * the output growing as it must for smaller ones (see make_room). */
    if (view->len > PY_SSIZE_T_MAX / 2) return PyErr_NoMemory();
    Py_ssize_t capacity = view->len + view->len / 4 + 64;
    r->result = PyBytes_FromStringAndSize(NULL, capacity);
    if (!r->result) return NULL;
    r->out_start = (unsigned char *)PyBytes_AS_STRING(r->result);
    r->out_end = r->out_start + capacity;
    unsigned char *out_end;
    if (view->readonly) {  /* bytes: no other thread can change them meanwhile */
        r->saved = PyEval_SaveThread();
        out_end = convert_all(start, end, r);
        PyEval_RestoreThread(r->saved);
        r->saved = NULL;
    } else {
        out_end = convert_all(start, end, r);
    }
    *newlines = r->newlines;
    if (r->failed || r->no_memory) {
        Py_CLEAR(r->result);
        if (r->no_memory && !PyErr_Occurred()) PyErr_NoMemory();
        return NULL;
    }
    if (!out_end) {
        Py_CLEAR(r->result);
        *none = 1;
        return NULL;
    }
    if (_PyBytes_Resize(&r->result, (Py_ssize_t)(out_end - r->out_start)) < 0) return NULL;
    PyObject *result = r->result;
    r->result = NULL;
    return result;
}

static int direction_arg(PyObject *arg, run *r) {
    int to_v2 = PyObject_IsTrue(arg);
    if (to_v2 < 0) return 0;
    r->to_v2 = to_v2;
    r->d = to_v2 ? &TO_V2 : &TO_V1;
    return 1;
}

/* Whether an entry point was given exactly ``expected`` arguments (if not, a TypeError naming it). */
static int arity(const char *name, Py_ssize_t nargs, Py_ssize_t expected) {
    if (nargs == expected) return 1;
    PyErr_Format(PyExc_TypeError, "%s takes exactly %zd arguments", name, expected);
    return 0;
}

/* ``arg`` as a Py_ssize_t in ``*out``; 0 (an error set) when it is not an integer that fits. */
static int ssize_arg(PyObject *arg, Py_ssize_t *out) {
    *out = PyNumber_AsSsize_t(arg, PyExc_OverflowError);
    return !(*out == -1 && PyErr_Occurred());
}

PyDoc_STRVAR(convert_chunk_doc,
"convert_chunk(chunk, to_v2, /)\n--\n\n"
"Convert every NDJSON record of ``chunk`` (1.0 to 2.0 when ``to_v2``, else 2.0 to 1.0).\n\n"
"Returns ``(output, records, newlines)``, the output one line per record, or ``None`` when\n"
"some record is not the plain, valid common case (then convert record by record).");

static PyObject *convert_chunk(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (!arity("convert_chunk", nargs, 2)) return NULL;
    run r = {0};
    r.limit = PY_SSIZE_T_MAX;
    r.spaced = 1;
    if (!direction_arg(args[1], &r)) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) return NULL;
    Py_ssize_t newlines;
    int none;
    PyObject *output = convert_buffer(&view, &r, &newlines, &none);
    PyBuffer_Release(&view);
    free(r.declined);
    if (!output && !none) return NULL;
    if (!output || r.converted == 0) {
        Py_XDECREF(output);
        Py_RETURN_NONE;
    }
    return Py_BuildValue("(Nnn)", output, r.converted, newlines);
}

PyDoc_STRVAR(convert_mixed_doc,
"convert_mixed(chunk, to_v2, limit, callback=None, /)\n--\n\n"
"Convert the NDJSON records of ``chunk`` that the C code can (1.0 to 2.0 when ``to_v2``, else\n"
"2.0 to 1.0), pass through those already in the target version (or reading the same in both),\n"
"and skip blank lines. Returns ``(output, converted, unchanged, newlines, declined)``: ``declined``\n"
"lists, in order, the records left to Python (not plain, invalid, an error, longer\n"
"than ``limit``) as ``(line, start, end, at, converted, unchanged)``: the record's line (from 0),\n"
"its bytes ``chunk[start:end]`` (without the newline), where its output goes in ``output``, and\n"
"how many records the C code converted and passed through before it.\n\n"
"With a ``callback`` (``chunk`` must then be bytes), each such record is given to it at once as\n"
"``callback(line, start, end, converted, unchanged)``; it returns the record's output (bytes,\n"
"written in its place) or None to stop there, and ``declined`` is empty.");

static PyObject *convert_mixed(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 3 && nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "convert_mixed takes 3 or 4 arguments");
        return NULL;
    }
    run r = {0};
    r.mixed = 1;
    r.spaced = 1;
    if (nargs == 4 && args[3] != Py_None) {
        /* the callback runs Python code while the chunk is read: it must not be able to change */
        if (!PyBytes_Check(args[0])) {
            PyErr_SetString(PyExc_TypeError, "convert_mixed with a callback takes bytes");
            return NULL;
        }
        r.callback = args[3];
    }
    if (!direction_arg(args[1], &r)) return NULL;
    if (!ssize_arg(args[2], &r.limit)) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) return NULL;
    Py_ssize_t newlines;
    int none;
    PyObject *output = convert_buffer(&view, &r, &newlines, &none);
    PyBuffer_Release(&view);
    PyObject *list = output ? PyList_New(r.ndeclined) : NULL;
    for (Py_ssize_t i = 0; list && i < r.ndeclined; i++) {
        declined *e = &r.declined[i];
        PyObject *item = Py_BuildValue("(nnnnnn)", e->line, e->start, e->end, e->at, e->converted, e->unchanged);
        if (!item) Py_CLEAR(list);
        else PyList_SET_ITEM(list, i, item);
    }
    free(r.declined);
    if (!list) {
        Py_XDECREF(output);
        return NULL;
    }
    return Py_BuildValue("(NnnnN)", output, r.converted, r.unchanged, newlines, list);
}

PyDoc_STRVAR(convert_text_doc,
"convert_text(text, to_v2, /)\n--\n\n"
"One record (bytes) converted, or ``text`` itself when it is already in the target version (or\n"
"reads the same in both), or ``None`` when it is not the plain, valid case (or would be passed\n"
"through less the whitespace around it: only Python tells that from a conversion).");

static PyObject *convert_text(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (!arity("convert_text", nargs, 2)) return NULL;
    PyObject *text = args[0];
    if (!PyBytes_CheckExact(text)) {
        PyErr_SetString(PyExc_TypeError, "convert_text takes bytes");
        return NULL;
    }
    run r = {0};
    if (!direction_arg(args[1], &r)) return NULL;
    ptr start = (ptr)PyBytes_AS_STRING(text);
    Py_ssize_t length = PyBytes_GET_SIZE(text);
    if (length == 0 || (start[0] != '{' && !is_ws(start[0]))) Py_RETURN_NONE;
    /* As convert_buffer sizes it, less the newline; small records are converted on the stack. */
    Py_ssize_t capacity = length + r.d->wrapped_length + 8;
    unsigned char small[4096];
    unsigned char *buffer = capacity <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)capacity);
    if (!buffer) return PyErr_NoMemory();
    static member root[MAX_MEMBERS], inner[MAX_MEMBERS];  /* under the GIL: one call at a time */
    unsigned char *out = buffer;
    int kind = convert_record(start, start + length, r.d, r.to_v2, &out, root, inner, 1);
    PyObject *result;
    if (kind == CONVERTED) result = PyBytes_FromStringAndSize((const char *)buffer, out - buffer - 1);
    else if (kind == UNCHANGED && out - buffer - 1 == length) result = Py_NewRef(text);
    else result = Py_NewRef(Py_None);  /* declined, or unchanged less the whitespace around it: Python says so */
    if (buffer != small) PyMem_Free(buffer);
    return result;
}

static int ends_scalar(unsigned char c) {
    switch (c) {
    case ' ': case '\t': case '\r': case '\n': case ',': case '[': case ']': case '{': case '}': case '"':
        return 1;
    default:
        return 0;
    }
}

/* Where the value at p ends, looking only at strings and brackets (the value is checked later, when
 * it is converted): an offset past it, or -1 when [p, end) stops first. */
static Py_ssize_t loose_end(ptr start, ptr p, ptr end) {
    unsigned char first = *p;
    Py_ssize_t depth = 0;
    if (first != '{' && first != '[' && first != '"') {
        while (p < end && !ends_scalar(*p)) p++;
        return p < end ? p - start : -1;
    }
    while (p < end) {
        unsigned char c = *p++;
        if (c == '"') {
            for (;;) {
                ptr q = memchr(p, '"', (size_t)(end - p));
                if (!q) return -1;
                /* the quote closes the string unless an odd number of backslashes precedes it */
                ptr b = q;
                while (b > p && b[-1] == '\\') b--;
                p = q + 1;
                if ((q - b) % 2 == 0) break;
            }
            if (depth == 0) return p - start;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth <= 0) return p - start;
        }
    }
    return -1;
}

PyDoc_STRVAR(element_end_doc,
"element_end(buffer, position, /)\n--\n\n"
"Where the JSON value starting at ``position`` of ``buffer`` ends, going by its strings and\n"
"brackets only (it is not checked): an offset, or -1 when the buffer ends first.");

static PyObject *element_end(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (!arity("element_end", nargs, 2)) return NULL;
    Py_ssize_t position;
    if (!ssize_arg(args[1], &position)) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) return NULL;
    Py_ssize_t result = -1;
    if (position >= 0 && position < view.len) {
        ptr start = (ptr)view.buf;
        result = loose_end(start, start + position, start + view.len);
    }
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(result);
}

PyDoc_STRVAR(retain_freed_memory_doc,
"retain_freed_memory(nbytes, /)\n--\n\n"
"Let the C allocator keep up to ``nbytes`` of freed memory for reuse instead of giving it back\n"
"to the system at once (glibc only; elsewhere nothing happens). A command converting a large\n"
"file allocates and frees megabyte buffers all the time: handing them back and faulting fresh\n"
"pages in for the next costs more than the conversion itself on some machines. For programs,\n"
"not libraries: it changes the whole process. Returns whether it was applied.");

static PyObject *retain_freed_memory(PyObject *module, PyObject *arg) {
    (void)module;
    Py_ssize_t nbytes;
    if (!ssize_arg(arg, &nbytes)) return NULL;
    if (nbytes < 1 << 20) {
        PyErr_SetString(PyExc_ValueError, "retain_freed_memory takes at least 1 MiB (1048576)");
        return NULL;
    }
#ifdef __GLIBC__
    if (nbytes > INT_MAX) nbytes = INT_MAX;
    int done = mallopt(M_MMAP_THRESHOLD, (int)(nbytes / 2)) && mallopt(M_TRIM_THRESHOLD, (int)nbytes);
    return PyBool_FromLong(done);
#else
    Py_RETURN_FALSE;
#endif
}

/* ---- Arrow arrays: convert_offsets --------------------------------------------------------------
 *
 * One record per row of an Arrow string or binary array (migrate1to2.arrow), read in place from the
 * array's data, offsets (32 or 64 bits) and validity buffers, with the per-record converter above;
 * the output is written as Arrow buffers directly: data, offsets of the same width, validity (a
 * converted or unchanged row is valid; a null or rejected one is null) and one status byte per row.
 * A row is one record whatever it holds (newlines included): a row the C code declines goes, alone,
 * to the callback. Separate from the NDJSON path: nothing above is changed for it. */

enum { ROW_NULL = 0, ROW_CONVERTED = 1, ROW_UNCHANGED = 2, ROW_REJECTED = 3 };

static Py_ssize_t offset_at(ptr offsets, int wide, Py_ssize_t i) {
    if (wide) {
        int64_t v;
        memcpy(&v, offsets + 8 * i, 8);
        return (Py_ssize_t)v;
    }
    int32_t v;
    memcpy(&v, offsets + 4 * i, 4);
    return (Py_ssize_t)v;
}

static void set_offset(unsigned char *offsets, int wide, Py_ssize_t i, Py_ssize_t value) {
    if (wide) {
        int64_t v = (int64_t)value;
        memcpy(offsets + 8 * i, &v, 8);
    } else {
        int32_t v = (int32_t)value;
        memcpy(offsets + 4 * i, &v, 4);
    }
}

/* Give the row [s, e) of the data to the callback, which returns (status, output bytes or None), and
 * write the output at *out_p. 1: done; 0: an exception is set. */
static int row_back(run *r, Py_ssize_t row, Py_ssize_t s, Py_ssize_t e, Py_ssize_t rest,
                    unsigned char **out_p, unsigned char *status) {
    if (r->saved) PyEval_RestoreThread(r->saved);
    PyThreadState *saved = r->saved;
    r->saved = NULL;  /* make_room below runs with the GIL */
    int ok = 0;
    PyObject *answer = PyObject_CallFunction(r->callback, "nnn", row, s, e);
    if (answer) {
        long code = -1;
        PyObject *piece = NULL;
        if (PyTuple_Check(answer) && PyTuple_GET_SIZE(answer) == 2) {
            code = PyLong_AsLong(PyTuple_GET_ITEM(answer, 0));
            piece = PyTuple_GET_ITEM(answer, 1);
        }
        if (code == -1 && PyErr_Occurred()) {
            /* the error is set */
        } else if (code == ROW_REJECTED && piece == Py_None) {
            *status = ROW_REJECTED;
            ok = 1;
        } else if ((code == ROW_CONVERTED || code == ROW_UNCHANGED) && piece && PyBytes_Check(piece)) {
            Py_ssize_t length = PyBytes_GET_SIZE(piece);
            if (make_room(r, out_p, length, rest)) {
                *out_p = put(*out_p, (ptr)PyBytes_AS_STRING(piece), length);
                *status = (unsigned char)code;
                ok = 1;
            }
        } else {
            PyErr_SetString(PyExc_TypeError, "the callback of convert_offsets returns (1 or 2, bytes) or (3, None)");
        }
    }
    Py_XDECREF(answer);
    if (saved) r->saved = PyEval_SaveThread();
    return ok;
}

/* Every row into r's output (its offsets, status and validity too). 1: done; 0: r->failed (an
 * exception is set) or r->no_memory; -1: bad offsets (row ``*bad``); -2: the output outgrows 32-bit offsets. */
static int convert_rows(run *r, ptr data, Py_ssize_t data_len, ptr offsets, int wide, ptr validity,
                        Py_ssize_t first, Py_ssize_t length, unsigned char *out_offsets,
                        unsigned char *status, unsigned char *out_validity, Py_ssize_t *bad) {
    member root[MAX_MEMBERS], inner[MAX_MEMBERS];
    unsigned char *out = r->out_start;
    Py_ssize_t last = offset_at(offsets, wide, first + length);
    set_offset(out_offsets, wide, 0, 0);
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_ssize_t j = first + i;
        Py_ssize_t s = offset_at(offsets, wide, j), e = offset_at(offsets, wide, j + 1);
        if (s < 0 || e < s || e > data_len || e > last) {
            *bad = i;
            return -1;
        }
        if (validity && !(validity[j >> 3] & (1u << (j & 7)))) {
            status[i] = ROW_NULL;
        } else {
            if (!make_room(r, &out, AT_MOST(r, e - s), last - e)) {
                r->no_memory = 1;
                return 0;
            }
            int kind = DECLINED;
            if (e > s && e - s <= r->limit && data[s] == '{') {
                /* compact rows only: Python minifies the whole of a row that spans lines (a document) */
                kind = convert_record(data + s, data + e, r->d, r->to_v2, &out, root, inner, 0);
                if (kind != DECLINED) out--;  /* a row has no newline */
            }
            if (kind == CONVERTED) status[i] = ROW_CONVERTED;
            else if (kind == UNCHANGED) status[i] = ROW_UNCHANGED;
            else if (!row_back(r, i, s, e, last - e, &out, &status[i])) {
                r->failed = 1;
                return 0;
            }
            if (status[i] != ROW_REJECTED) out_validity[i >> 3] |= (unsigned char)(1u << (i & 7));
        }
        Py_ssize_t written = out - r->out_start;
        if (!wide && written > INT32_MAX) return -2;
        set_offset(out_offsets, wide, i + 1, written);
    }
    return 1;
}

PyDoc_STRVAR(convert_offsets_doc,
"convert_offsets(data, offsets, wide, first, length, validity, to_v2, limit, callback, /)\n--\n\n"
"Convert the rows ``first`` to ``first + length`` of an Arrow string or binary array given by its\n"
"buffers: ``data``, ``offsets`` (int64 when ``wide``, else int32) and ``validity`` (a bitmap, or\n"
"None: no nulls). A row the C code does not convert or pass through (not plain and compact,\n"
"invalid, an error, longer than ``limit``) is given to ``callback(row, start, end)`` (its bytes\n"
"are ``data[start:end]``), which returns ``(1, output)`` (converted), ``(2, output)`` (unchanged)\n"
"or ``(3, None)`` (rejected). Returns ``(data, offsets, validity, status)`` for the output: its\n"
"offsets have the input's width, ``validity`` has a bit per row (converted or unchanged), and\n"
"``status`` a byte per row: 0 null, 1 converted, 2 unchanged, 3 rejected. OverflowError when the\n"
"output does not fit 32-bit offsets; ValueError on offsets outside the data.");

static PyObject *convert_offsets(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (!arity("convert_offsets", nargs, 9)) return NULL;
    run r = {0};
    r.mixed = 1;
    r.callback = args[8];
    int wide = PyObject_IsTrue(args[2]);
    Py_ssize_t first = PyNumber_AsSsize_t(args[3], PyExc_OverflowError);
    Py_ssize_t length = PyNumber_AsSsize_t(args[4], PyExc_OverflowError);
    r.limit = PyNumber_AsSsize_t(args[7], PyExc_OverflowError);
    if (wide < 0 || PyErr_Occurred() || !direction_arg(args[6], &r)) return NULL;
    if (first < 0 || length < 0) {
        PyErr_SetString(PyExc_ValueError, "convert_offsets: negative first or length");
        return NULL;
    }
    Py_buffer data, offsets, validity = {0};
    int has_validity = args[5] != Py_None;
    if (PyObject_GetBuffer(args[0], &data, PyBUF_SIMPLE) < 0) return NULL;
    if (PyObject_GetBuffer(args[1], &offsets, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&data);
        return NULL;
    }
    if (has_validity && PyObject_GetBuffer(args[5], &validity, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&offsets);
        return NULL;
    }
    PyObject *out_offsets = NULL, *status = NULL, *out_validity = NULL, *answer = NULL;
    Py_ssize_t width = wide ? 8 : 4, bad = -1;
    if (offsets.len / width < first + length + 1 || (has_validity && validity.len * 8 < first + length)) {
        PyErr_SetString(PyExc_ValueError, "convert_offsets: the offsets or validity buffer is too short");
        goto done;
    }
    Py_ssize_t begin = offset_at((ptr)offsets.buf, wide, first), end = offset_at((ptr)offsets.buf, wide, first + length);
    if (begin < 0 || end < begin || end > data.len) {
        PyErr_SetString(PyExc_ValueError, "convert_offsets: offsets outside the data");
        goto done;
    }
    Py_ssize_t capacity = (end - begin) + (end - begin) / 4 + 64;
    r.result = PyBytes_FromStringAndSize(NULL, capacity);
    out_offsets = PyBytes_FromStringAndSize(NULL, (length + 1) * width);
    status = PyBytes_FromStringAndSize(NULL, length);
    out_validity = PyBytes_FromStringAndSize(NULL, (length + 7) / 8);
    if (!r.result || !out_offsets || !status || !out_validity) goto done;
    memset(PyBytes_AS_STRING(out_validity), 0, (size_t)((length + 7) / 8));
    r.out_start = (unsigned char *)PyBytes_AS_STRING(r.result);
    r.out_end = r.out_start + capacity;
    int readonly = data.readonly && offsets.readonly && (!has_validity || validity.readonly);
    if (readonly) r.saved = PyEval_SaveThread();  /* no other thread can change the buffers meanwhile */
    int outcome = convert_rows(&r, (ptr)data.buf, data.len, (ptr)offsets.buf, wide,
                               has_validity ? (ptr)validity.buf : NULL, first, length,
                               (unsigned char *)PyBytes_AS_STRING(out_offsets),
                               (unsigned char *)PyBytes_AS_STRING(status),
                               (unsigned char *)PyBytes_AS_STRING(out_validity), &bad);
    if (r.saved) PyEval_RestoreThread(r.saved);
    r.saved = NULL;
    if (outcome == 0) {
        if (r.no_memory && !PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    if (outcome == -1) {
        PyErr_Format(PyExc_ValueError, "convert_offsets: the offsets of row %zd are outside the data", bad);
        goto done;
    }
    if (outcome == -2) {
        PyErr_SetString(PyExc_OverflowError, "convert_offsets: the output does not fit 32-bit offsets");
        goto done;
    }
    Py_ssize_t used = offset_at((ptr)PyBytes_AS_STRING(out_offsets), wide, length);
    if (_PyBytes_Resize(&r.result, used) < 0) goto done;
    answer = Py_BuildValue("(NNNN)", r.result, out_offsets, out_validity, status);
    r.result = out_offsets = out_validity = status = NULL;
done:
    Py_XDECREF(r.result);
    Py_XDECREF(out_offsets);
    Py_XDECREF(status);
    Py_XDECREF(out_validity);
    PyBuffer_Release(&data);
    PyBuffer_Release(&offsets);
    if (has_validity) PyBuffer_Release(&validity);
    return answer;
}
/* ---- end of convert_offsets ------------------------------------------------------------------ */

/* ---- The payload census (migrate1to2.audit.census) ---------------------------------------------
 *
 * census(chunk, limit) tells, for each line of an NDJSON chunk, what the audit's slow path
 * (audit.payload.audit_record) says of it, in the one case that is common and easy to prove: a
 * record with no finding at all. Each line gets the census's Quick tuple ``(version, event_name, ())``
 * or None, and None only means "ask Python" (the Python census, then the slow path), which says
 * everything else. So this block only has to be right about the records it accepts:
 *
 * - the line (less one CR, whitespace around it allowed) is strictly valid JSON and UTF-8, at most
 *   ``most`` bytes; over ``limit`` bytes (under it the slow path takes its size as written: under
 *   32 KB, no ``too-large``) it is handed over with a size check (Python measures it);
 * - the root is an object, and so is its container (``properties`` or ``context``) if it has one:
 *   whitespace between their tokens is allowed (no finding depends on it), but not an escape in
 *   their keys nor a key twice (those the slow path must judge);
 * - ``event_name`` is a string without escapes holding a printable ASCII character (so it is not
 *   blank in Python's sense either); no legacy key (``event``, ``eventId``, ``eventTimestamp``,
 *   ``version`` at the root, ``userAgent`` or ``cookies`` in a root or ``context`` ``device``
 *   object whose keys have no escapes);
 * - the version as the spec detects it: both containers are declined; ``properties`` is 1.0 (and
 *   holds no reserved key: a collision), ``context`` 2.0; neither is 1.0 with more than
 *   ``event_name``, else either;
 * - every ``user`` the slow path looks at (the root's, 1.0's ``properties``') is an object and every
 *   ``event_timestamp`` (the root's, 2.0's ``context``') an integer of 12 to 14 digits (epoch
 *   milliseconds), as the Python census proves them clean; any other such value is handed to Python
 *   as a *check* (where the value and its key are written), which the slow path's own functions
 *   judge (``user-not-object``, ``timestamp-not-ms``).
 *
 * The lines are the elements of ``chunk.split(b"\n")``. The chunk is read without the GIL when it is
 * bytes; the tuples are built afterwards, one per distinct (version, name) in the chunk. */

enum { C_DECLINED = 0, C_V1 = 1, C_V2 = 2, C_EITHER = 3 };

/* A value the slow path judges that is not plainly fine: a ``user`` that is not an object, an
 * ``event_timestamp`` that is not epoch milliseconds. Python decodes it and asks the slow path's own
 * function whether it is a finding. Offsets from the start of the line. */
enum { CHECK_USER = 0, CHECK_PROPERTIES_USER = 1, CHECK_STAMP = 2, CHECK_CONTEXT_STAMP = 3, CHECKS = 4,
       CHECK_SIZE = 4 /* a record over ``limit`` bytes: Python measures it as the slow path does */ };

typedef struct {
    int32_t start, end;  /* the value */
    int32_t key;         /* its key's opening quote */
} census_check;

typedef struct {
    unsigned char kind;
    unsigned char checks;  /* which of ``check`` are set (bit i for check i) */
    ptr name;              /* the event name's text, without quotes */
    Py_ssize_t length;
    census_check check[CHECKS];
} census_line;

/* The members of the object at p, whitespace allowed between its tokens, keys without escapes and none
 * twice; the end of the object, or NULL. */
static ptr census_members(ptr p, ptr end, member *members, Py_ssize_t *count) {
    return spaced_members(p, end, members, count, 2, NULL);
}

/* An integer of 12 to 14 digits, not starting with 0: epoch milliseconds, no finding. */
static int census_epoch_ms(const member *m) {
    if (m->vlen < 12 || m->vlen > 14 || m->value[0] == '0') return 0;
    for (Py_ssize_t i = 0; i < m->vlen; i++) {
        if (m->value[i] < '0' || m->value[i] > '9') return 0;
    }
    return 1;
}

/* Whether the value of ``device`` is fine: not an object, or one without ``userAgent`` or ``cookies``
 * (and with plain keys: an escaped key could spell one). */
static int census_plain_device(const member *device, member *keys) {
    Py_ssize_t n;
    if (device->value[0] != '{') return 1;
    if (census_members(device->value, device->value + device->vlen, keys, &n) != device->value + device->vlen)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (IS_KEY(&keys[i], "\"userAgent\"") || IS_KEY(&keys[i], "\"cookies\"")) return 0;
    }
    return 1;
}

static void census_check_at(census_line *line, int which, ptr start, const member *m) {
    line->checks |= (unsigned char)(1 << which);
    line->check[which].start = (int32_t)(m->value - start);
    line->check[which].end = (int32_t)(m->value + m->vlen - start);
    line->check[which].key = (int32_t)(m->key - start);
}

/* The version class of the record [p, end) (C_V1, C_V2, C_EITHER) when its only possible findings are
 * its checks, its name and checks in *line; else C_DECLINED. */
static int census_record(ptr p, ptr end, member *root, member *inner, member *keys, census_line *line) {
    Py_ssize_t nroot, ninner = 0;
    ptr start = p;
    line->checks = 0;
    p = skip_ws(p, end);
    end = trim_ws(p, end);
    if (census_members(p, end, root, &nroot) != end) return C_DECLINED;
    Py_ssize_t properties = -1, context = -1, name = -1, user = -1, stamp = -1, device = -1;
    for (Py_ssize_t i = 0; i < nroot; i++) {
        const member *m = &root[i];
        if (IS_KEY(m, "\"event_name\"")) name = i;
        else if (IS_KEY(m, "\"properties\"")) properties = i;
        else if (IS_KEY(m, "\"context\"")) context = i;
        else if (IS_KEY(m, "\"user\"")) user = i;
        else if (IS_KEY(m, "\"event_timestamp\"")) stamp = i;
        else if (IS_KEY(m, "\"device\"")) device = i;
        else if (IS_KEY(m, "\"event\"") || IS_KEY(m, "\"eventId\"") || IS_KEY(m, "\"eventTimestamp\"")
                 || IS_KEY(m, "\"version\""))
            return C_DECLINED;  /* a legacy shape */
    }
    if (name < 0 || (properties >= 0 && context >= 0)) return C_DECLINED;
    /* event_name: a string without escapes, not blank (a printable ASCII character in it) */
    const member *n = &root[name];
    if (n->value[0] != '"') return C_DECLINED;
    int printable = 0;
    for (Py_ssize_t i = 1; i < n->vlen - 1; i++) {
        unsigned char c = n->value[i];
        if (c == '\\') return C_DECLINED;
        if (c > ' ' && c < 0x7F) printable = 1;
    }
    if (!printable) return C_DECLINED;
    line->name = n->value + 1;
    line->length = n->vlen - 2;
    int version = properties >= 0 ? C_V1 : context >= 0 ? C_V2 : nroot > 1 ? C_V1 : C_EITHER;
    if (user >= 0 && root[user].value[0] != '{') census_check_at(line, CHECK_USER, start, &root[user]);
    if (stamp >= 0 && !census_epoch_ms(&root[stamp])) census_check_at(line, CHECK_STAMP, start, &root[stamp]);
    if (device >= 0 && !census_plain_device(&root[device], keys)) return C_DECLINED;
    Py_ssize_t box = properties >= 0 ? properties : context;
    if (box < 0) return version;
    const member *b = &root[box];
    if (b->value[0] != '{' || census_members(b->value, b->value + b->vlen, inner, &ninner) != b->value + b->vlen)
        return C_DECLINED;
    for (Py_ssize_t i = 0; i < ninner; i++) {
        const member *m = &inner[i];
        if (version == C_V1) {
            if (IS_KEY(m, "\"event_name\"") || IS_KEY(m, "\"properties\"") || IS_KEY(m, "\"context\""))
                return C_DECLINED;  /* a collision */
            if (IS_KEY(m, "\"user\"") && m->value[0] != '{') census_check_at(line, CHECK_PROPERTIES_USER, start, m);
        } else {
            if (IS_KEY(m, "\"event_timestamp\"") && !census_epoch_ms(m)) census_check_at(line, CHECK_CONTEXT_STAMP, start, m);
            if (IS_KEY(m, "\"device\"") && !census_plain_device(m, keys)) return C_DECLINED;
        }
    }
    return version;
}

/* Judge every line of [start, end) into lines (one per element of split(b"\n")), and where each starts
 * into starts (one more: where a next line would start). */
static void census_all(ptr start, ptr end, Py_ssize_t most, census_line *lines, int64_t *starts) {
    member root[MAX_MEMBERS], inner[MAX_MEMBERS], keys[MAX_MEMBERS];
    ptr p = start;
    for (Py_ssize_t i = 0;; i++) {
        starts[i] = p - start;
        ptr newline = memchr(p, '\n', (size_t)(end - p));
        ptr line_end = newline ? newline : end;
        ptr text_end = line_end > p && line_end[-1] == '\r' ? line_end - 1 : line_end;
        lines[i].kind = C_DECLINED;
        if (text_end > p && text_end - p <= most)
            lines[i].kind = (unsigned char)census_record(p, text_end, root, inner, keys, &lines[i]);
        if (!newline) {
            starts[i + 1] = end - start + 1;
            break;
        }
        p = newline + 1;
    }
}

#define CENSUS_SLOTS 1024  /* distinct (version, name) tuples remembered per chunk; past half of it, not */

static PyObject *census_versions[4];

PyDoc_STRVAR(census_doc,
"census(chunk, limit, most, /)\n--\n\n"
"For each element of ``chunk.split(b\"\\n\")`` (NDJSON records, a CR before the newline allowed),\n"
"``(version, event_name, ())`` when the audit's slow path finds nothing in it but its checks\n"
"(version ``1.0``, ``2.0`` or ``either``; the line at most ``most`` bytes), else None: ask\n"
"Python. Returns ``(judged, checks, starts)``: that list; ``(line, which, start, end, key)`` for each\n"
"value to judge (0 the root's ``user``, 1 ``properties``' ``user``, 2 the root's ``event_timestamp``,\n"
"3 ``context``'s; in that order for each line, after 4, the size of a line over ``limit`` bytes, its\n"
"text the whole line): its text is ``chunk[start:end]``, its key at ``key``\n"
"in the line; and where each line starts in ``chunk`` (int64, native order; one more at the end).");

static PyObject *census(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (!arity("census", nargs, 3)) return NULL;
    Py_ssize_t limit;
    if (!ssize_arg(args[1], &limit)) return NULL;
    Py_ssize_t most;
    if (!ssize_arg(args[2], &most)) return NULL;
    if (!census_versions[C_V1]) {
        census_versions[C_V1] = PyUnicode_InternFromString("1.0");
        census_versions[C_V2] = PyUnicode_InternFromString("2.0");
        census_versions[C_EITHER] = PyUnicode_InternFromString("either");
        if (!census_versions[C_V1] || !census_versions[C_V2] || !census_versions[C_EITHER]) return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) return NULL;
    ptr start = (ptr)view.buf, end = start + view.len;
    Py_ssize_t count = 1;
    for (ptr p = start; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) count++;
    census_line *lines = malloc(sizeof(census_line) * (size_t)count);
    PyObject *list = lines ? PyList_New(count) : PyErr_NoMemory();
    PyObject *empty = PyTuple_New(0);
    PyObject *checks = PyList_New(0);
    PyObject *starts = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)sizeof(int64_t) * (count + 1));
    PyObject *result = NULL;
    if (!list || !empty || !checks || !starts) goto done;
    int64_t *offsets = (int64_t *)PyBytes_AS_STRING(starts);
    if (view.readonly) {  /* bytes: no other thread can change them meanwhile */
        Py_BEGIN_ALLOW_THREADS
        census_all(start, end, most, lines, offsets);
        Py_END_ALLOW_THREADS
    } else {
        census_all(start, end, most, lines, offsets);
    }
    /* One tuple per distinct (version, name), found by a hash of the name's text. */
    struct { const census_line *line; PyObject *tuple; } slots[CENSUS_SLOTS];
    memset(slots, 0, sizeof(slots));
    Py_ssize_t used = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        const census_line *l = &lines[i];
        if (l->kind == C_DECLINED) {
            PyList_SET_ITEM(list, i, Py_NewRef(Py_None));
            continue;
        }
        uint64_t hash = 1469598103934665603ULL ^ l->kind;
        for (Py_ssize_t k = 0; k < l->length; k++) hash = (hash ^ l->name[k]) * 1099511628211ULL;
        size_t slot = (size_t)hash & (CENSUS_SLOTS - 1);
        PyObject *tuple = NULL;
        for (;;) {
            const census_line *seen = slots[slot].line;
            if (!seen) break;
            if (seen->kind == l->kind && seen->length == l->length && memcmp(seen->name, l->name, (size_t)l->length) == 0) {
                tuple = Py_NewRef(slots[slot].tuple);
                break;
            }
            slot = (slot + 1) & (CENSUS_SLOTS - 1);
        }
        if (!tuple) {
            PyObject *name = PyUnicode_DecodeUTF8((const char *)l->name, l->length, "strict");
            tuple = name ? PyTuple_Pack(3, census_versions[l->kind], name, empty) : NULL;
            Py_XDECREF(name);
            if (!tuple) {
                Py_CLEAR(list);
                break;
            }
            if (used < CENSUS_SLOTS / 2 && !slots[slot].line) {  /* the list holds a reference meanwhile */
                slots[slot].line = l;
                slots[slot].tuple = tuple;
                used++;
            }
        }
        PyList_SET_ITEM(list, i, tuple);
        Py_ssize_t length = (i + 1 < count ? offsets[i + 1] - 1 : view.len) - offsets[i];
        if (length > 0 && start[offsets[i] + length - 1] == '\r') length--;
        if (length > limit) {
            PyObject *item = Py_BuildValue("(ninni)", i, CHECK_SIZE, (Py_ssize_t)offsets[i],
                                           (Py_ssize_t)(offsets[i] + length), 0);
            if (!item || PyList_Append(checks, item) < 0) {
                Py_XDECREF(item);
                goto done;
            }
            Py_DECREF(item);
        }
        for (int which = 0; l->checks && which < CHECKS; which++) {
            if (!(l->checks & (1 << which))) continue;
            const census_check *c = &l->check[which];
            PyObject *item = Py_BuildValue("(ninni)", i, which, (Py_ssize_t)(offsets[i] + c->start),
                                           (Py_ssize_t)(offsets[i] + c->end), (int)c->key);
            if (!item || PyList_Append(checks, item) < 0) {
                Py_XDECREF(item);
                goto done;
            }
            Py_DECREF(item);
        }
    }
    if (list) result = PyTuple_Pack(3, list, checks, starts);
done:  /* on an error, the items not set yet are NULL, which a list being freed allows */
    Py_XDECREF(empty);
    Py_XDECREF(list);
    Py_XDECREF(checks);
    Py_XDECREF(starts);
    free(lines);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"convert_chunk", (PyCFunction)(void (*)(void))convert_chunk, METH_FASTCALL, convert_chunk_doc},
    {"convert_mixed", (PyCFunction)(void (*)(void))convert_mixed, METH_FASTCALL, convert_mixed_doc},
    {"convert_text", (PyCFunction)(void (*)(void))convert_text, METH_FASTCALL, convert_text_doc},
    {"retain_freed_memory", retain_freed_memory, METH_O, retain_freed_memory_doc},
    {"element_end", (PyCFunction)(void (*)(void))element_end, METH_FASTCALL, element_end_doc},
    {"convert_offsets", (PyCFunction)(void (*)(void))convert_offsets, METH_FASTCALL, convert_offsets_doc},
    {"census", (PyCFunction)(void (*)(void))census, METH_FASTCALL, census_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "migrate1to2._speedups",
    "A C accelerator for the common case of migrate1to2.rawjson.fast_converter.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    return PyModule_Create(&module);
}
