/* The common case of the exact conversion, for NDJSON chunks, in one pass over the bytes.
 *
 * An accelerator for the Python converter (migrate1to2.rawjson and records._convert_each), which
 * stays the reference. Each line of a chunk is either done here or *declined*: handed to Python
 * alone (convert_mixed's callback or its list of declined records), which converts or rejects it
 * and gives every error its message and location. So this file only has to be right about what
 * it does itself, never about why something is wrong:
 *
 * - every byte is validated as strict JSON (RFC 8259) and strict UTF-8, nested values too;
 * - the root, and the container being opened, must be compact (no whitespace between their
 *   tokens), their keys written without escapes and not duplicated;
 * - the spec's version detection decides: a record in the source version (1.0 with or without
 *   ``properties`` when upgrading) is converted, values copied byte for byte; one already in the
 *   target version, or reading the same in both ({} or only ``event_name``), is written as it is;
 *   an ambiguous record, a collision, and anything else (whitespace at those two levels, escapes
 *   in their keys, deep nesting, invalid text, a line over the size limit) is declined;
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

static ptr skip_ws_slow(ptr p, ptr end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Past any whitespace at p; compact text (the common case) costs one comparison. */
static inline ptr skip_ws(ptr p, ptr end) {
    return (p < end && *p <= ' ') ? skip_ws_slow(p, end) : p;
}

static ptr scan_digits(ptr p, ptr end) {
    ptr start = p;
    while (p < end && *p >= '0' && *p <= '9') p++;
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
    default:
        if (!(*p == '-' || (*p >= '0' && *p <= '9')) || !(p = scan_number(p, end))) return NULL;
        break;
    }
    /* After a value: the end, or a comma and the next member or element, or a closing bracket. */
    while (open > 0) {
        p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == ',') {
            p = skip_ws(p + 1, end);
            if (closers[open - 1] == '}') goto key;
            goto value;
        }
        if (*p != closers[open - 1]) return NULL;
        p++;
        open--;
    }
    return p;
key:  /* a member: "key" : value */
    if (p >= end || *p != '"') return NULL;
    if (!(p = scan_string(p, end, &escaped))) return NULL;
    p = skip_ws(p, end);
    if (p >= end || *p != ':') return NULL;
    p = skip_ws(p + 1, end);
    goto value;
}

/* The members of the compact object at p (keys without escapes); the end of the object, or NULL. */
static ptr scan_members(ptr p, ptr end, member *members, Py_ssize_t *count) {
    Py_ssize_t n = 0;
    if (p >= end || *p != '{') return NULL;
    p++;
    if (p < end && *p == '}') {
        *count = 0;
        return p + 1;
    }
    for (;;) {
        if (p >= end || *p != '"' || n == MAX_MEMBERS) return NULL;
        int escaped = 0;
        ptr key = p;
        if (!(p = scan_string(p, end, &escaped)) || escaped) return NULL;
        if (p >= end || *p != ':') return NULL;
        ptr value = p + 1;
        if (!(p = skip_value(value, end, 2))) return NULL;
        members[n].key = key;
        members[n].klen = value - 1 - key;
        members[n].value = value;
        members[n].vlen = p - value;
        n++;
        if (p >= end) return NULL;
        if (*p == '}') break;
        if (*p != ',') return NULL;
        p++;
    }
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

/* Convert, or pass through, one compact record [p, end) into *out (advanced past what it wrote).
 *
 * The spec's version detection, on the root's members: both containers, or a container that is not
 * an object, is left to Python (which rejects it); ``properties`` means 1.0, ``context`` 2.0; with
 * neither, a root holding more than ``event_name`` is 1.0 (it converts with an empty container) and
 * the rest ({} or only ``event_name``) reads the same in both. A record in the source version is
 * converted; any other is written unchanged, byte for byte, as Python does with such a record. */
static int convert_record(ptr p, ptr end, const direction *d, int to_v2, unsigned char **out_p,
                          member *root, member *inner) {
    Py_ssize_t nroot, ninner = 0;
    if (scan_members(p, end, root, &nroot) != end) return DECLINED;
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
        const member *box = &root[opened];
        if (scan_members(box->value, box->value + box->vlen, inner, &ninner) != box->value + box->vlen)
            return DECLINED;
        for (Py_ssize_t i = 0; i < ninner; i++) {
            if (IS_KEY(&inner[i], "\"event_name\"") || IS_KEY(&inner[i], "\"properties\"")
                || IS_KEY(&inner[i], "\"context\""))
                return DECLINED;  /* a collision: an error */
        }
    }
    /* {"event_name":..., <inner members>, "wrapped":{<other root members>}} */
    *out++ = '{';
    if (name >= 0) {
        out = put(out, root[name].key, root[name].klen + 1 + root[name].vlen);
        *out++ = ',';
    }
    for (Py_ssize_t i = 0; i < ninner; i++) {
        out = put(out, inner[i].key, inner[i].klen + 1 + inner[i].vlen);
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
        out = put(out, root[i].key, root[i].klen + 1 + root[i].vlen);
    }
    *out++ = '}';
    *out++ = '}';
    *out++ = '\n';
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
            if (*p == '{') kind = convert_record(p, text_end, r->d, r->to_v2, &out, root, inner);
            else if (r->mixed && blank(p, text_end)) kind = -1;  /* all-or-nothing: not the common case */
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

PyDoc_STRVAR(convert_chunk_doc,
"convert_chunk(chunk, to_v2, /)\n--\n\n"
"Convert every NDJSON record of ``chunk`` (1.0 to 2.0 when ``to_v2``, else 2.0 to 1.0).\n\n"
"Returns ``(output, records, newlines)``, the output one line per record, or ``None`` when\n"
"some record is not the plain, compact, valid common case (then convert record by record).");

static PyObject *convert_chunk(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "convert_chunk takes exactly 2 arguments");
        return NULL;
    }
    run r = {0};
    r.limit = PY_SSIZE_T_MAX;
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
"lists, in order, the records left to Python (not plain and compact, invalid, an error, longer\n"
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
    if (nargs == 4 && args[3] != Py_None) {
        /* the callback runs Python code while the chunk is read: it must not be able to change */
        if (!PyBytes_Check(args[0])) {
            PyErr_SetString(PyExc_TypeError, "convert_mixed with a callback takes bytes");
            return NULL;
        }
        r.callback = args[3];
    }
    if (!direction_arg(args[1], &r)) return NULL;
    r.limit = PyNumber_AsSsize_t(args[2], PyExc_OverflowError);
    if (r.limit == -1 && PyErr_Occurred()) return NULL;
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
"reads the same in both), or ``None`` when it is not the plain, compact, valid case.");

static PyObject *convert_text(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "convert_text takes exactly 2 arguments");
        return NULL;
    }
    PyObject *text = args[0];
    if (!PyBytes_CheckExact(text)) {
        PyErr_SetString(PyExc_TypeError, "convert_text takes bytes");
        return NULL;
    }
    run r = {0};
    if (!direction_arg(args[1], &r)) return NULL;
    ptr start = (ptr)PyBytes_AS_STRING(text);
    Py_ssize_t length = PyBytes_GET_SIZE(text);
    if (length == 0 || start[0] != '{') Py_RETURN_NONE;
    /* As convert_buffer sizes it, less the newline; small records are converted on the stack. */
    Py_ssize_t capacity = length + r.d->wrapped_length + 8;
    unsigned char small[4096];
    unsigned char *buffer = capacity <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)capacity);
    if (!buffer) return PyErr_NoMemory();
    static member root[MAX_MEMBERS], inner[MAX_MEMBERS];  /* under the GIL: one call at a time */
    unsigned char *out = buffer;
    int kind = convert_record(start, start + length, r.d, r.to_v2, &out, root, inner);
    PyObject *result;
    if (kind == CONVERTED) result = PyBytes_FromStringAndSize((const char *)buffer, out - buffer - 1);
    else if (kind == UNCHANGED) result = Py_NewRef(text);
    else result = Py_NewRef(Py_None);
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
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "element_end takes exactly 2 arguments");
        return NULL;
    }
    Py_ssize_t position = PyNumber_AsSsize_t(args[1], PyExc_OverflowError);
    if (position == -1 && PyErr_Occurred()) return NULL;
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
    Py_ssize_t nbytes = PyNumber_AsSsize_t(arg, PyExc_OverflowError);
    if (nbytes == -1 && PyErr_Occurred()) return NULL;
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

static PyMethodDef methods[] = {
    {"convert_chunk", (PyCFunction)(void (*)(void))convert_chunk, METH_FASTCALL, convert_chunk_doc},
    {"convert_mixed", (PyCFunction)(void (*)(void))convert_mixed, METH_FASTCALL, convert_mixed_doc},
    {"convert_text", (PyCFunction)(void (*)(void))convert_text, METH_FASTCALL, convert_text_doc},
    {"retain_freed_memory", retain_freed_memory, METH_O, retain_freed_memory_doc},
    {"element_end", (PyCFunction)(void (*)(void))element_end, METH_FASTCALL, element_end_doc},
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
