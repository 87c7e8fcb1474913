/* The common case of the exact conversion, for whole NDJSON chunks, in one pass over the bytes.
 *
 * This is an accelerator for migrate1to2.rawjson.fast_converter, with the same contract: it
 * either converts *every* record of the chunk or returns None, and then the Python code does
 * the chunk record by record (and gives every error its message and location). So this file
 * only has to be right about what it accepts, never about why something is wrong:
 *
 * - every byte is validated as strict JSON (RFC 8259) and strict UTF-8, nested values too;
 * - the root and the container being opened must be compact (no whitespace between their
 *   tokens), their keys written without escapes and not duplicated, and the record must be a
 *   plain source-version record: the container present and an object, the other container
 *   absent, no reserved key inside the container;
 * - values are copied byte for byte; anything else (whitespace at those two levels, escapes
 *   in their keys, deep nesting, invalid text, ...) returns None.
 *
 * The output for what it accepts is, byte for byte, what fast_converter makes (tests compare
 * the two on generated and random input). No Python object is touched while the GIL is
 * released.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
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
static ptr scan_string(ptr p, ptr end, int *escaped) {
    p++;
    for (;;) {
        /* Eight bytes at a time, up to the first quote, backslash, control or non-ASCII byte. The
         * borrows of the subtractions only run upwards from a byte that is one of those, so the
         * lowest flag set is exact (flags above it may be spurious, and are not looked at). */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
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

static ptr skip_ws(ptr p, ptr end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
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

/* The end of the (strictly valid) JSON value at p, whitespace allowed inside it; NULL otherwise. */
static ptr skip_value(ptr p, ptr end, int depth) {
    if (p >= end) return NULL;
    int escaped = 0;
    switch (*p) {
    case '"':
        return scan_string(p, end, &escaped);
    case '{':
        if (depth >= MAX_DEPTH) return NULL;
        p = skip_ws(p + 1, end);
        if (p < end && *p == '}') return p + 1;
        for (;;) {
            if (p >= end || *p != '"') return NULL;
            if (!(p = scan_string(p, end, &escaped))) return NULL;
            p = skip_ws(p, end);
            if (p >= end || *p != ':') return NULL;
            p = skip_ws(p + 1, end);
            if (!(p = skip_value(p, end, depth + 1))) return NULL;
            p = skip_ws(p, end);
            if (p >= end) return NULL;
            if (*p == '}') return p + 1;
            if (*p != ',') return NULL;
            p = skip_ws(p + 1, end);
        }
    case '[':
        if (depth >= MAX_DEPTH) return NULL;
        p = skip_ws(p + 1, end);
        if (p < end && *p == ']') return p + 1;
        for (;;) {
            if (!(p = skip_value(p, end, depth + 1))) return NULL;
            p = skip_ws(p, end);
            if (p >= end) return NULL;
            if (*p == ']') return p + 1;
            if (*p != ',') return NULL;
            p = skip_ws(p + 1, end);
        }
    case 't':
        return scan_literal(p, end, "true", 4);
    case 'f':
        return scan_literal(p, end, "false", 5);
    case 'n':
        return scan_literal(p, end, "null", 4);
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9')) return scan_number(p, end);
        return NULL;
    }
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

/* Convert one compact record [p, end) into out; the new end of out, or NULL to give up. */
static unsigned char *convert_record(ptr p, ptr end, const direction *d, unsigned char *out,
                                     member *root, member *inner) {
    Py_ssize_t nroot, ninner;
    if (scan_members(p, end, root, &nroot) != end) return NULL;
    Py_ssize_t opened = -1, name = -1;
    for (Py_ssize_t i = 0; i < nroot; i++) {
        if (is_key(&root[i], d->opened, d->opened_length)) opened = i;
        else if (is_key(&root[i], d->wrapped, d->wrapped_length)) return NULL;
        else if (IS_KEY(&root[i], "\"event_name\"")) name = i;
    }
    if (opened < 0) return NULL;
    const member *box = &root[opened];
    if (scan_members(box->value, box->value + box->vlen, inner, &ninner) != box->value + box->vlen) return NULL;
    for (Py_ssize_t i = 0; i < ninner; i++) {
        if (IS_KEY(&inner[i], "\"event_name\"") || IS_KEY(&inner[i], "\"properties\"")
            || IS_KEY(&inner[i], "\"context\""))
            return NULL;
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
    return out;
}

/* Every line of [start, end) converted into out: the output's end, or NULL. */
static unsigned char *convert_all(ptr start, ptr end, const direction *d, unsigned char *out, Py_ssize_t *texts) {
    member root[MAX_MEMBERS], inner[MAX_MEMBERS];
    Py_ssize_t count = 0;
    ptr p = start;
    while (p < end) {
        ptr newline = memchr(p, '\n', (size_t)(end - p));
        ptr line_end = newline ? newline : end;
        if (line_end > p && line_end[-1] == '\r') line_end--;  /* CRLF: the output has LF line ends */
        if (line_end > p) {
            if (!(out = convert_record(p, line_end, d, out, root, inner))) return NULL;
            count++;
        }
        p = line_end + 1;
    }
    *texts = count;
    return out;
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
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) return NULL;
    int to_v2 = PyObject_IsTrue(args[1]);
    if (to_v2 < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const direction *d = to_v2 ? &TO_V2 : &TO_V1;
    ptr start = (ptr)view.buf;
    ptr end = start + view.len;
    /* Each record grows by at most the container's new name, one comma and the newline. */
    Py_ssize_t newlines = 0;
    for (ptr p = start; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) newlines++;
    if (newlines >= (PY_SSIZE_T_MAX - view.len) / (d->wrapped_length + 8) - 1) {
        PyBuffer_Release(&view);
        Py_RETURN_NONE;  /* too large to size here: record by record */
    }
    Py_ssize_t capacity = view.len + (newlines + 1) * (d->wrapped_length + 8);
    PyObject *result = PyBytes_FromStringAndSize(NULL, capacity);
    if (!result) {
        PyBuffer_Release(&view);
        return NULL;
    }
    unsigned char *out_start = (unsigned char *)PyBytes_AS_STRING(result);
    unsigned char *out_end;
    Py_ssize_t texts = 0;
    if (view.readonly) {  /* bytes: no other thread can change them (and so the newline count) meanwhile */
        Py_BEGIN_ALLOW_THREADS
        out_end = convert_all(start, end, d, out_start, &texts);
        Py_END_ALLOW_THREADS
    } else {
        out_end = convert_all(start, end, d, out_start, &texts);
    }
    PyBuffer_Release(&view);
    if (!out_end || texts == 0) {
        Py_DECREF(result);
        Py_RETURN_NONE;
    }
    if (_PyBytes_Resize(&result, (Py_ssize_t)(out_end - out_start)) < 0) return NULL;
    return Py_BuildValue("(Nnn)", result, texts, newlines);
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
