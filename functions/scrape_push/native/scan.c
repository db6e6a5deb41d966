/* scrape_push._scan: the hot passes of the text parser (parse/parser.py) over one chunk, in C.
 *
 * Each function does what a pure-Python function of parse/parser.py does (named below), which
 * stays the reference and the fallback; where its input leaves the fast path it returns None
 * ("not mine") and the Python code reads that piece. It never raises for data (only
 * MemoryError), holds the GIL throughout, reads only within its arguments and allocates in
 * proportion to them. docs/native.md, "The scan kernel".
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* None, or the MemoryError that is the only exception a function here raises. */
static PyObject *
not_mine(void)
{
    if (PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
            return NULL;
        }
        PyErr_Clear();
    }
    Py_RETURN_NONE;
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Code points in n bytes of valid UTF-8 (len() of the str they are). */
static Py_ssize_t
code_points(const char *s, Py_ssize_t n, int ascii)
{
    if (ascii) {
        return n;
    }
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        count += ((unsigned char)s[i] & 0xC0) != 0x80;
    }
    return count;
}

/* The exact doubles 10^0 .. 10^22 (5^22 < 2^53): the powers of ten a fast read may scale by. */
static const double POWERS_OF_TEN[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
#define MAX_EXACT_POWER 22
#define MAX_EXACT_INTEGER (UINT64_C(1) << 53) /* every integer up to it is a double */
#define DIGITS_CAP (UINT64_MAX / 10 - 9)     /* past it, more digits could overflow */
#define EXPONENT_CAP 100000                  /* an exponent beyond it is never the fast case */

/* The decimal whose significand is the integer `digits` (its digits, without the point) and whose
 * exponent is `exponent`, when one IEEE operation gives it correctly rounded, as strtod rounds it
 * (Clinger's fast path): the significand and the power of ten are both exact doubles, so their
 * product or quotient is rounded once. 1: *out is it; 0: strtod's to read. */
static int
exact_decimal(uint64_t digits, long exponent, int negative, double *out)
{
#if FLT_EVAL_METHOD != 0 /* (wider intermediates would round twice: no fast path there) */
    (void)digits, (void)exponent, (void)negative, (void)out;
    return 0;
#else
    if (digits > MAX_EXACT_INTEGER || exponent < -MAX_EXACT_POWER || exponent > MAX_EXACT_POWER) {
        return 0;
    }
    double value = (double)digits;
    value = exponent < 0 ? value / POWERS_OF_TEN[-exponent] : value * POWERS_OF_TEN[exponent];
    *out = negative ? -value : value;
    return 1;
#endif
}

/* A value Python's float() and Prometheus's rules (grammar.parse_float) read alike: the plain
 * decimal syntax of grammar.FLOAT, ASCII, read to a finite number: by exact_decimal when it can,
 * else by PyOS_string_to_double (the routine float() reads a str with). 1: *out is it; 0: not
 * mine (NaN, Inf, hex, '_', blanks, overflow ... are for the Python path); -1: MemoryError.
 * s[n] is '\n' or the text's final NUL, where the parse stops. */
static int
decimal(const char *s, Py_ssize_t n, double *out)
{
    Py_ssize_t i = 0, digits = 0;
    uint64_t significand = 0;
    long scale = 0; /* the power of ten the significand's digits are scaled by */
    int negative = 0, exact = 1;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        negative = s[i] == '-';
        i++;
    }
    while (i < n && is_digit(s[i])) {
        exact = exact && significand <= DIGITS_CAP;
        significand = significand * 10 + (uint64_t)(s[i] - '0');
        i++, digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i])) {
            exact = exact && significand <= DIGITS_CAP;
            significand = significand * 10 + (uint64_t)(s[i] - '0');
            scale--;
            i++, digits++;
        }
    }
    if (!digits) {
        return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        Py_ssize_t exponent_digits = 0;
        long exponent = 0;
        int below = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            below = s[i] == '-';
            i++;
        }
        while (i < n && is_digit(s[i])) {
            exponent = exponent < EXPONENT_CAP ? exponent * 10 + (s[i] - '0') : exponent;
            i++, exponent_digits++;
        }
        if (!exponent_digits) {
            return 0;
        }
        exact = exact && exponent < EXPONENT_CAP;
        scale += below ? -exponent : exponent;
    }
    if (i != n) {
        return 0;
    }
    if (exact && exact_decimal(significand, scale, negative, out)) {
        return 1;
    }
    char *end = NULL;
    double value = PyOS_string_to_double(s, &end, NULL);
    if (value == -1.0 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    if (end != s + n || !isfinite(value)) {
        return 0;
    }
    *out = value;
    return 1;
}

/* What scan() builds, and what it reads a chunk with. */
typedef struct {
    PyObject *text, *known;
    const char *start;     /* the text's UTF-8 */
    int ascii;             /* it is ASCII: a byte is a code point */
    int predict;           /* known's order may be followed (ASCII, no NUL byte) */
    Py_ssize_t known_size; /* entries in known */
    Py_ssize_t position;   /* where in known's order the next known series is expected */
    char *scratch;         /* a series text, NUL-terminated, to compare with known's */
    Py_ssize_t scratch_size;
    PyObject *special, *keys, *values, *odd, *hits, *comments;
} Scanner;

static void
scanner_clear(Scanner *c)
{
    PyMem_Free(c->scratch);
    c->scratch = NULL;
    Py_CLEAR(c->special);
    Py_CLEAR(c->keys);
    Py_CLEAR(c->values);
    Py_CLEAR(c->odd);
    Py_CLEAR(c->hits);
    Py_CLEAR(c->comments);
}

/* Append a new reference to list, which it steals (also on failure). */
static int
append_new(PyObject *list, PyObject *item)
{
    if (item == NULL) {
        return -1;
    }
    int failed = PyList_Append(list, item);
    Py_DECREF(item);
    return failed;
}

/* The str of the n bytes of the text at s. */
static PyObject *
text_slice(Scanner *c, const char *s, Py_ssize_t n)
{
    if (c->ascii) { /* (bytes are code points: a copy, no decoding) */
        return PyUnicode_Substring(c->text, s - c->start, s - c->start + n);
    }
    return PyUnicode_FromStringAndSize(s, n);
}

/* The series text at [s, s + n) when it is the next one in known's order (a warm scrape's
 * lines come in the order the last scrape's did), with its entry in *hit: the key known holds,
 * so that no str is made nor hashed; NULL otherwise. Borrowed references. */
static PyObject *
predicted(Scanner *c, const char *s, Py_ssize_t n, PyObject **hit)
{
    Py_ssize_t position = c->position;
    PyObject *key = NULL;
    if (!c->predict || !PyDict_Next(c->known, &position, &key, hit) || !PyUnicode_CheckExact(key) ||
        PyUnicode_GetLength(key) != n) {
        return NULL;
    }
    if (n >= c->scratch_size) {
        char *grown = PyMem_Realloc(c->scratch, (size_t)n + 1);
        if (grown == NULL) {
            return NULL; /* (the lookup then does it) */
        }
        c->scratch = grown, c->scratch_size = n + 1;
    }
    memcpy(c->scratch, s, (size_t)n);
    c->scratch[n] = '\0';
    if (PyUnicode_CompareWithASCIIString(key, c->scratch) != 0) {
        return NULL;
    }
    c->position = position;
    return key;
}

/* A sample line's series text as a str, and its entry in known in *hit (NULL: none); a new
 * reference, NULL on error. */
static PyObject *
series(Scanner *c, const char *s, Py_ssize_t n, PyObject **hit)
{
    *hit = NULL;
    PyObject *key = predicted(c, s, n, hit);
    if (key != NULL) {
        Py_INCREF(key);
        return key;
    }
    *hit = NULL;
    key = text_slice(c, s, n);
    if (key == NULL || c->known_size == 0) {
        return key;
    }
    *hit = PyDict_GetItemWithError(c->known, key);
    if (*hit == NULL && PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    return key;
}

/* One sample line [line, end): its series text (everything before its last space), its value
 * (a float, or its text when it is not mine, with its index in odd) and the known series' entry
 * (None when known lacks it). Returns 1 for a hit, 0 for a miss, -1 on error. */
static int
sample_line(Scanner *c, const char *line, const char *end)
{
    const char *space = end;
    while (space > line && space[-1] != ' ') {
        space--;
    }
    const char *value = space;
    const char *key_end = space > line ? space - 1 : line;
    PyObject *hit = NULL;
    PyObject *key = series(c, line, key_end - line, &hit);
    if (key == NULL) {
        return -1;
    }
    /* (the borrowed entry is taken before anything else can run) */
    if (PyList_Append(c->hits, hit == NULL ? Py_None : hit) < 0) {
        Py_DECREF(key);
        return -1;
    }
    if (append_new(c->keys, key) < 0) {
        return -1;
    }
    double number = 0.0;
    int parsed = decimal(value, end - value, &number);
    if (parsed < 0) {
        return -1;
    }
    if (parsed) {
        if (append_new(c->values, PyFloat_FromDouble(number)) < 0) {
            return -1;
        }
    } else {
        Py_ssize_t at = PyList_Size(c->values);
        if (append_new(c->odd, PyLong_FromSsize_t(at)) < 0 ||
            append_new(c->values, text_slice(c, value, end - value)) < 0) {
            return -1;
        }
    }
    return hit != NULL;
}

/* parser._scan: a chunk's text as its lines (text.split("\n"), without the empty string after
 * the body's final newline when last), in one pass:
 *   (lines, special, keys, values, odd, hits, missing, (comments, comment_chars), sample_chars,
 *    position)
 * special: bytes, 1 for each line that is not a sample line (blank, or starting with '#', ' ' or
 * '\t'); keys, values, hits: each sample line's series text, value (a float, or for those whose
 * index odd lists, its text) and entry in known (or None), and how many are None; comments: each
 * run of consecutive non-sample lines, joined by "\n"; the characters of the non-sample and of the
 * sample lines; where in known's order the next chunk's known series are expected (position: an
 * opaque hint, the same in and out, that makes a lookup of a series text in its turn a compare).
 * None: not mine (lone surrogates in the text, known not a dict). */
static PyObject *
scan(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "scan(text, last, known, position)");
        return NULL;
    }
    PyObject *text = args[0], *known = args[2];
    int last = PyObject_IsTrue(args[1]);
    Py_ssize_t position = PyLong_AsSsize_t(args[3]);
    if (last < 0 || position < 0 || !PyUnicode_CheckExact(text) || !PyDict_CheckExact(known)) {
        return not_mine();
    }
    Py_ssize_t size = 0;
    const char *start = PyUnicode_AsUTF8AndSize(text, &size);
    if (start == NULL) {
        return not_mine();
    }
    Scanner c = {text, known, start, PyUnicode_GetLength(text) == size, 0, PyDict_Size(known), position,
                 NULL, 0, NULL, PyList_New(0), PyList_New(0), PyList_New(0), PyList_New(0), PyList_New(0)};
    /* (a NUL byte would end the compared text early; a non-ASCII one be read as Latin-1) */
    c.predict = c.ascii && c.known_size > 0 && memchr(start, '\0', (size_t)size) == NULL;
    /* the flags grow in a buffer of their own, one byte a line, then become special */
    Py_ssize_t capacity = 0, lines = 0, missing = 0, comment_chars = 0, sample_chars = 0;
    char *flags = NULL;
    if (c.keys == NULL || c.values == NULL || c.odd == NULL || c.hits == NULL || c.comments == NULL) {
        goto fail;
    }
    const char *end = start + size, *line = start, *run = NULL, *run_end = NULL;
    for (;;) {
        const char *newline = memchr(line, '\n', (size_t)(end - line));
        const char *stop = newline != NULL ? newline : end;
        if (newline == NULL && last && stop == line) {
            break; /* the body's final newline ends a line, it starts none */
        }
        int is_special = stop == line || *line == '#' || *line == ' ' || *line == '\t';
        if (lines == capacity) {
            capacity = capacity ? capacity * 2 : 1024;
            char *grown = PyMem_Realloc(flags, (size_t)capacity);
            if (grown == NULL) {
                PyErr_NoMemory();
                goto fail;
            }
            flags = grown;
        }
        flags[lines++] = (char)is_special;
        if (is_special) {
            run = run == NULL ? line : run;
            run_end = stop;
            comment_chars += code_points(line, stop - line, c.ascii);
        } else {
            if (run != NULL) {
                if (append_new(c.comments, text_slice(&c, run, run_end - run)) < 0) {
                    goto fail;
                }
                run = NULL;
            }
            int hit = sample_line(&c, line, stop);
            if (hit < 0) {
                goto fail;
            }
            missing += !hit;
            sample_chars += code_points(line, stop - line, c.ascii);
        }
        if (newline == NULL) {
            break;
        }
        line = newline + 1;
    }
    if (run != NULL && append_new(c.comments, text_slice(&c, run, run_end - run)) < 0) {
        goto fail;
    }
    c.special = PyBytes_FromStringAndSize(flags, lines);
    PyMem_Free(flags);
    flags = NULL;
    if (c.special == NULL) {
        goto fail;
    }
    PyObject *result = Py_BuildValue(
        "(nOOOOOn(On)nn)", lines, c.special, c.keys, c.values, c.odd, c.hits, missing, c.comments,
        comment_chars, sample_chars, c.position);
    scanner_clear(&c);
    return result;
fail:
    PyMem_Free(flags);
    scanner_clear(&c);
    return not_mine();
}

/* The str attribute "name" of a family, compared with head: 1 equal, 0 not, -1 not mine. */
static int
names_family(PyObject *family, PyObject *head)
{
    PyObject *name = PyObject_GetAttrString(family, "name");
    if (name == NULL) {
        return -1;
    }
    int equal = -1;
    if (PyUnicode_CheckExact(name) && PyUnicode_CheckExact(head)) {
        equal = PyUnicode_Compare(name, head) == 0;
        if (PyErr_Occurred()) {
            equal = -1;
        }
    }
    Py_DECREF(name);
    return equal;
}

/* parser._known_blocks: the block after a chunk of known series, as (block,), when the table of
 * runs of comment lines read every one of its runs before and none amends the block before it
 * (metadata.Metadata.after), and every sample line's entry (hits) holds, at index at, the very
 * block the line is read under (context before the first run, then what each run read to);
 * None otherwise (an entry whose block is only equal to it is the Python path's to judge).
 * special and comments are what scan() gives. */
static PyObject *
blocks(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "blocks(special, comments, runs, context, hits, at)");
        return NULL;
    }
    PyObject *special = args[0], *comments = args[1], *runs = args[2], *context = args[3], *hits = args[4];
    Py_ssize_t at = PyLong_AsSsize_t(args[5]);
    if (at < 0 || !PyBytes_CheckExact(special) || !PyList_CheckExact(comments) || !PyDict_CheckExact(runs) ||
        !PyList_CheckExact(hits)) {
        return not_mine();
    }
    const char *flags = PyBytes_AsString(special);
    if (flags == NULL) {
        return not_mine();
    }
    Py_ssize_t count = PyBytes_Size(special), run = 0, sample = 0;
    /* what the last run read to, held: a family's name is an attribute, which could run code */
    PyObject *held = NULL, *block = context, *result = NULL;
    int in_run = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (flags[i]) {
            if (in_run) {
                continue;
            }
            in_run = 1;
            PyObject *text = PyList_GetItem(comments, run++);
            if (text == NULL || !PyUnicode_CheckExact(text)) {
                goto done;
            }
            Py_INCREF(text);
            PyObject *read = PyDict_GetItemWithError(runs, text);
            Py_XINCREF(read);
            Py_DECREF(text);
            if (read == NULL || !PyTuple_CheckExact(read) || PyTuple_Size(read) != 2) {
                Py_XDECREF(read);
                goto done;
            }
            PyObject *before = held != NULL ? block : (context != Py_None ? context : NULL);
            int amends = before != NULL ? names_family(before, PyTuple_GetItem(read, 0)) : 0;
            Py_XDECREF(held);
            held = read;
            block = PyTuple_GetItem(read, 1);
            if (amends != 0) {
                goto done;
            }
        } else {
            in_run = 0;
            PyObject *hit = PyList_GetItem(hits, sample++);
            if (hit == NULL || !PyTuple_CheckExact(hit) || PyTuple_Size(hit) <= at ||
                PyTuple_GetItem(hit, at) != block) {
                goto done;
            }
        }
    }
    if (run == PyList_Size(comments) && sample == PyList_Size(hits)) {
        result = PyTuple_Pack(1, block);
    }
done:
    Py_XDECREF(held);
    return result != NULL ? result : not_mine();
}

static int
is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_name_char(char c)
{
    return is_name_start(c) || is_digit(c);
}

/* The end of a plain label set (grammar._PLAIN_LINES between its braces: label="value", values
 * without quotes, backslashes or newlines, a comma before each next label, and with trailing a
 * comma before the closing brace), given s just after its '{'; NULL when s is not one. The
 * shape (Python: grammar.PLAIN_VALUE taken out) goes to shape, which has room for n bytes. */
static const char *
plain_set(const char *s, const char *end, int trailing, char *shape, Py_ssize_t *shape_size)
{
    char *out = shape;
    while (s < end && *s != '}') {
        const char *name = s;
        if (!is_name_start(*s)) {
            return NULL;
        }
        while (s < end && is_name_char(*s)) {
            s++;
        }
        if (end - s < 2 || s[0] != '=' || s[1] != '"') {
            return NULL;
        }
        s += 2;
        const char *value = s;
        while (s < end && *s != '"' && *s != '\\' && *s != '\n') {
            s++;
        }
        if (s == end || *s != '"') {
            return NULL;
        }
        memcpy(out, name, (size_t)(value - 1 - name)); /* name= */
        out += value - 1 - name;
        if (s == value) {
            *out++ = '"', *out++ = '"';
        }
        s++;
        if (s < end && *s == ',') {
            if (s + 1 < end && is_name_start(s[1])) {
                *out++ = ',', s++;
                continue;
            }
            if (!(trailing && s + 1 < end && s[1] == '}')) {
                return NULL;
            }
            *out++ = ',', s++;
        } else if (s == end || *s != '}') {
            return NULL;
        }
    }
    if (s == end) {
        return NULL;
    }
    *shape_size = out - shape;
    return s;
}

/* One series text's name, label set and shape appended, when it is plain; 0: it is not. s is
 * its UTF-8, size bytes. */
static int
plain_text(PyObject *key, const char *s, Py_ssize_t size, int trailing, PyObject *names, PyObject *bodies,
           PyObject *shapes)
{
    const char *end = s + size, *p = s;
    if (p == end || !(is_name_start(*p) || *p == ':')) {
        return 0;
    }
    while (p < end && (is_name_char(*p) || *p == ':')) {
        p++;
    }
    if (p == end) {
        PyObject *empty = PyUnicode_FromStringAndSize(NULL, 0);
        if (empty == NULL) {
            return -1;
        }
        int failed = PyList_Append(names, key) < 0 || PyList_Append(bodies, empty) < 0 ||
                     PyList_Append(shapes, empty) < 0;
        Py_DECREF(empty);
        return failed ? -1 : 1;
    }
    if (*p != '{') {
        return 0;
    }
    char *shape = PyMem_Malloc((size_t)size + 1);
    if (shape == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t shape_size = 0;
    const char *close = plain_set(p + 1, end, trailing, shape, &shape_size);
    int found = 0;
    if (close != NULL && close + 1 == end) {
        found = append_new(names, PyUnicode_FromStringAndSize(s, p - s)) < 0 ||
                        append_new(bodies, PyUnicode_FromStringAndSize(p + 1, close - p - 1)) < 0 ||
                        append_new(shapes, PyUnicode_FromStringAndSize(shape, shape_size)) < 0
                    ? -1
                    : 1;
    }
    PyMem_Free(shape);
    return found;
}

/* plain_text of a series text, through a copy of its UTF-8: PyUnicode_AsUTF8AndSize would leave
 * one attached to a text that is not ASCII, which the series cache keeps. */
static int
plain_series(PyObject *key, int trailing, PyObject *names, PyObject *bodies, PyObject *shapes)
{
    PyObject *utf8 = PyUnicode_AsUTF8String(key);
    if (utf8 == NULL) {
        return -1;
    }
    int found = plain_text(key, PyBytes_AsString(utf8), PyBytes_Size(utf8), trailing, names, bodies, shapes);
    Py_DECREF(utf8);
    return found;
}

/* parser._plain_label_sets: the metric names, label sets (the text between the braces) and
 * label-set shapes of series texts that all have the plain shape name{a="1",b=""} (grammar.
 * TEXT_PLAIN_LINES with trailing commas, OM_PLAIN_LINES without, less the value after the
 * series text), as (names, bodies, shapes); None when one is not plain (or not mine). */
static PyObject *
label_sets(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "label_sets(keys, trailing)");
        return NULL;
    }
    PyObject *keys = args[0];
    int trailing = PyObject_IsTrue(args[1]);
    if (trailing < 0 || !PyList_CheckExact(keys)) {
        return not_mine();
    }
    PyObject *names = PyList_New(0), *bodies = PyList_New(0), *shapes = PyList_New(0);
    if (names == NULL || bodies == NULL || shapes == NULL) {
        goto fail;
    }
    for (Py_ssize_t i = 0; i < PyList_Size(keys); i++) {
        PyObject *key = PyList_GetItem(keys, i);
        if (key == NULL || !PyUnicode_CheckExact(key)) {
            goto fail;
        }
        int plain = plain_series(key, trailing, names, bodies, shapes);
        if (plain <= 0) {
            goto fail;
        }
    }
    PyObject *result = PyTuple_Pack(3, names, bodies, shapes);
    Py_DECREF(names);
    Py_DECREF(bodies);
    Py_DECREF(shapes);
    return result;
fail:
    Py_XDECREF(names);
    Py_XDECREF(bodies);
    Py_XDECREF(shapes);
    return not_mine();
}

#define COUNT_BLOCK 255 /* bytes whose newlines fit a byte's count */

/* parser.newlines: data.count(b"\n") of a bytes object, at the same speed whatever the text (a
 * loop the compiler turns into vector compares, counting a block's newlines in bytes); None: not
 * mine (not exactly bytes). */
static PyObject *
newlines(PyObject *Py_UNUSED(module), PyObject *data)
{
    char *s = NULL;
    Py_ssize_t n = 0;
    if (!PyBytes_CheckExact(data) || PyBytes_AsStringAndSize(data, &s, &n) < 0) {
        return not_mine();
    }
    const unsigned char *bytes = (const unsigned char *)s;
    Py_ssize_t count = 0;
    for (Py_ssize_t at = 0; at < n; at += COUNT_BLOCK) {
        Py_ssize_t stop = n - at < COUNT_BLOCK ? n - at : COUNT_BLOCK;
        unsigned char block = 0;
        for (Py_ssize_t i = 0; i < stop; i++) {
            block += bytes[at + i] == '\n';
        }
        count += block;
    }
    return PyLong_FromSsize_t(count);
}

static PyMethodDef methods[] = {
    {"scan", (PyCFunction)(void (*)(void))scan, METH_FASTCALL, "A chunk's lines in one pass (parser._scan)."},
    {"blocks", (PyCFunction)(void (*)(void))blocks, METH_FASTCALL,
     "The block after a chunk of known series (parser._known_blocks)."},
    {"label_sets", (PyCFunction)(void (*)(void))label_sets, METH_FASTCALL,
     "Plain series texts' names, label sets and shapes (parser._plain_label_sets)."},
    {"newlines", newlines, METH_O, "The newlines of a bytes object (parser.newlines)."},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *module)
{
    return PyModule_AddIntConstant(module, "API", 2);
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, (void *)exec_module},
    {0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "scrape_push._scan", "The text parser's hot passes (docs/native.md).", 0, methods,
    slots, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__scan(void)
{
    return PyModuleDef_Init(&definition);
}
