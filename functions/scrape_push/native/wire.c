/* The Remote Write sink's hot loops (module scrape_push._wire, docs/native.md "The wire kernel").
 *
 * Each function does what a pure-Python function of sinks/remote_write/ does, which stays the
 * reference: known() the warm look-up of a tile's series heads in convert.to_series, columns()
 * encode.encode_columns over one-sample series, heads() encode.LabelEncoder.heads for the
 * series it can make plainly. Anything outside that fast path (a type other than the exact one
 * expected, a float subclass, a timestamp outside a head's range, a label set needing sorting,
 * a refused name, pair or value) is handed back: None for the whole call, or for one series in
 * heads(), and the Python path does that part. They raise only MemoryError.
 *
 * CPython's stable ABI (Py_LIMITED_API 3.11) only; the GIL is held throughout; no recursion.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define API 1

/* Field tags of remote.proto (devtools/remote_write_proto/remote.proto):
 * (field number << 3) | wire type. */
#define TAG_WRITE_REQUEST_TIMESERIES 0x0a /* WriteRequest.timeseries = 1, length-delimited */
#define TAG_TIMESERIES_LABEL 0x0a         /* TimeSeries.labels = 1 */
#define TAG_TIMESERIES_SAMPLE 0x12        /* TimeSeries.samples = 2 */
#define TAG_LABEL_NAME 0x0a               /* Label.name = 1 */
#define TAG_LABEL_VALUE 0x12              /* Label.value = 2 */
#define TAG_SAMPLE_VALUE 0x09             /* Sample.value = 1, 64-bit */
#define TAG_SAMPLE_TIMESTAMP 0x10         /* Sample.timestamp = 2, varint */

/* encode.HEAD_STAMPS: timestamps (ms) whose varint has 6 bytes, the only ones a series' head
 * (encode.series_head) holds the sample's length for. */
#define HEAD_STAMP_MIN (INT64_C(1) << 35)
#define HEAD_STAMP_END (INT64_C(1) << 42)
#define STAMP_VARINT_BYTES 6
/* A head's one sample after the labels: its tag, its length (16) and its value's tag. */
#define SAMPLE_HEAD_BYTES 3
/* The rest of that sample: the double, the timestamp's tag and 6-byte varint. */
#define SAMPLE_TAIL_BYTES (8 + 1 + STAMP_VARINT_BYTES)
/* encode._SAMPLE_FIELD_BYTES: the whole sample field a head's length counts after the labels. */
#define SAMPLE_FIELD_BYTES (SAMPLE_HEAD_BYTES + SAMPLE_TAIL_BYTES)

/* model.Sample's fields read here, by position (a NamedTuple). */
#define SAMPLE_VALUE 2
#define SAMPLE_TIMESTAMP 3
#define SAMPLE_FAMILY 4
#define SAMPLE_SERIES 5

/* Whether a function was given its `wanted` arguments (else TypeError). */
static int takes(const char *function, Py_ssize_t nargs, Py_ssize_t wanted) {
    if (nargs != wanted) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", function, wanted, nargs);
        return 0;
    }
    return 1;
}

/* -- a sequence's items (a list or a tuple) ------------------------------------------------ */

typedef struct {
    PyObject *seq;
    int is_list;
    Py_ssize_t size;
} items_t;

/* 0 when `seq` is neither a list nor a tuple (handed back). */
static int items_of(PyObject *seq, items_t *out) {
    if (PyList_CheckExact(seq)) {
        out->is_list = 1;
        out->size = PyList_Size(seq);
    } else if (PyTuple_CheckExact(seq)) {
        out->is_list = 0;
        out->size = PyTuple_Size(seq);
    } else {
        return 0;
    }
    out->seq = seq;
    return out->size >= 0;
}

/* Borrowed; the index is within the size. */
static PyObject *item_at(const items_t *items, Py_ssize_t index) {
    return items->is_list ? PyList_GetItem(items->seq, index) : PyTuple_GetItem(items->seq, index);
}

/* A sample's field, borrowed; NULL when `item` is not exactly a model.Sample (of the fields
 * read here: a Sample made by tuple.__new__ from a short row has fewer). */
static PyObject *sample_field(PyObject *item, PyObject *sample_type, Py_ssize_t field) {
    if ((PyObject *)Py_TYPE(item) != sample_type || PyTuple_Size(item) <= SAMPLE_SERIES) {
        return NULL;
    }
    return PyTuple_GetItem(item, field);
}

/* An exact int's value when it fits an int64; 0 when it is not one (handed back). */
static int int64_of(PyObject *value, int64_t *out) {
    int overflow = 0;
    long long found;
    if (value == NULL || !PyLong_CheckExact(value)) {
        return 0;
    }
    found = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || (found == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    *out = (int64_t)found;
    return 1;
}

/* -- protobuf's wire format ---------------------------------------------------------------- */

static Py_ssize_t varint_size(uint64_t value) {
    Py_ssize_t size = 1;
    while (value > 0x7f) {
        value >>= 7;
        size++;
    }
    return size;
}

static char *put_varint(char *at, uint64_t value) {
    while (value > 0x7f) {
        *at++ = (char)((value & 0x7f) | 0x80);
        value >>= 7;
    }
    *at++ = (char)value;
    return at;
}

/* A length-delimited field: tag, length, payload. */
static char *put_field(char *at, char tag, const char *payload, Py_ssize_t size) {
    *at++ = tag;
    at = put_varint(at, (uint64_t)size);
    memcpy(at, payload, (size_t)size);
    return at + size;
}

static Py_ssize_t field_size(Py_ssize_t payload) {
    return 1 + varint_size((uint64_t)payload) + payload;
}

/* -- known(tile, known, runs, stamps, Sample) ---------------------------------------------- */

/* Adds `value` to the set `stamps`; -1 on an error. */
static int add_stamp(PyObject *stamps, int64_t value) {
    PyObject *stamp = PyLong_FromLongLong(value);
    int added = stamp == NULL ? -1 : PySet_Add(stamps, stamp);
    Py_XDECREF(stamp);
    return added;
}

/* One tile of convert.to_series' warm pass, when every sample's series has a head in `known`:
 * `known.get` of each sample's ref, in order; and what the reference's other passes over the
 * tile find: each run of samples of one family (by identity) appended to `runs` by its family,
 * the least and the greatest timestamp added to the set `stamps`. None, and nothing done, when
 * a series has no head (new, or refused: a reason) or a sample is not exactly a Sample with an
 * int ref and an int64 timestamp. */
static PyObject *wire_known(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    items_t tile;
    PyObject *known, *runs, *stamps, *sample_type, *found;
    PyObject *previous = NULL;
    int64_t least = INT64_MAX, greatest = INT64_MIN;
    Py_ssize_t index;
    (void)self;
    if (!takes("known", nargs, 5)) {
        return NULL;
    }
    known = args[1];
    runs = args[2];
    stamps = args[3];
    sample_type = args[4];
    if (!items_of(args[0], &tile) || tile.size == 0 || !PyDict_CheckExact(known) || !PyList_CheckExact(runs) ||
        !PySet_Check(stamps)) {
        Py_RETURN_NONE;
    }
    found = PyList_New(tile.size);
    if (found == NULL) {
        return NULL;
    }
    for (index = 0; index < tile.size; index++) {
        PyObject *item = item_at(&tile, index);
        PyObject *ref = sample_field(item, sample_type, SAMPLE_SERIES), *entry;
        int64_t stamp;
        if (ref == NULL || !PyLong_CheckExact(ref) || !int64_of(PyTuple_GetItem(item, SAMPLE_TIMESTAMP), &stamp)) {
            Py_DECREF(found);
            Py_RETURN_NONE;
        }
        entry = PyDict_GetItemWithError(known, ref); /* an exact int's hash and equality: no error */
        if (entry == NULL || !PyBytes_CheckExact(entry)) {
            Py_DECREF(found);
            if (PyErr_Occurred()) {
                return NULL;
            }
            Py_RETURN_NONE;
        }
        Py_INCREF(entry);
        PyList_SetItem(found, index, entry);
        least = stamp < least ? stamp : least;
        greatest = stamp > greatest ? stamp : greatest;
    }
    for (index = 0; index < tile.size; index++) {
        PyObject *family = PyTuple_GetItem(item_at(&tile, index), SAMPLE_FAMILY);
        if (family != previous && PyList_Append(runs, family) < 0) {
            Py_DECREF(found);
            return NULL;
        }
        previous = family;
    }
    if (add_stamp(stamps, least) < 0 || add_stamp(stamps, greatest) < 0) {
        Py_DECREF(found);
        return NULL;
    }
    return found;
}

/* -- columns(heads, samples, Sample) ------------------------------------------------------- */

/* encode.encode_columns(heads, [s.timestamp_ms ...], [s.value ...]): the WriteRequest of
 * one-sample series given by their heads (encode.series_head) and samples, in one buffer. None
 * when the two differ in length, or a head is not bytes, or a sample not exactly a Sample with
 * a float value and a timestamp in HEAD_STAMPS (the reference raises for that, or packs an int
 * or a float subclass). A NaN's bits are copied as they are (the staleness marker's payload). */
static PyObject *wire_columns(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    items_t heads, samples;
    PyObject *sample_type, *out;
    Py_ssize_t total = 0, index;
    char *at;
    (void)self;
    if (!takes("columns", nargs, 3)) {
        return NULL;
    }
    sample_type = args[2];
    if (!items_of(args[0], &heads) || !items_of(args[1], &samples) || heads.size != samples.size) {
        Py_RETURN_NONE;
    }
    for (index = 0; index < heads.size; index++) { /* the size; the samples are checked below */
        PyObject *head = item_at(&heads, index);
        Py_ssize_t size;
        if (!PyBytes_CheckExact(head)) {
            Py_RETURN_NONE;
        }
        size = PyBytes_Size(head);
        if (size > PY_SSIZE_T_MAX - SAMPLE_TAIL_BYTES - total) {
            return PyErr_NoMemory();
        }
        total += size + SAMPLE_TAIL_BYTES;
    }
    out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) {
        return NULL;
    }
    at = PyBytes_AsString(out);
    for (index = 0; index < heads.size; index++) {
        PyObject *head = item_at(&heads, index), *item = item_at(&samples, index);
        PyObject *value = sample_field(item, sample_type, SAMPLE_VALUE);
        Py_ssize_t size = PyBytes_Size(head);
        int64_t stamp;
        uint64_t bits;
        double number;
        int byte;
        if (value == NULL || !PyFloat_CheckExact(value) ||
            !int64_of(PyTuple_GetItem(item, SAMPLE_TIMESTAMP), &stamp) || stamp < HEAD_STAMP_MIN ||
            stamp >= HEAD_STAMP_END) {
            Py_DECREF(out);
            Py_RETURN_NONE;
        }
        memcpy(at, PyBytes_AsString(head), (size_t)size);
        at += size;
        number = PyFloat_AsDouble(value); /* an exact float: no error */
        memcpy(&bits, &number, sizeof bits);
        for (byte = 0; byte < 8; byte++) { /* little-endian whatever this machine is */
            *at++ = (char)(bits >> (8 * byte));
        }
        *at++ = TAG_SAMPLE_TIMESTAMP;
        at = put_varint(at, (uint64_t)stamp); /* 6 bytes: in HEAD_STAMPS */
    }
    return out;
}

/* -- heads(names, label_sets, names_memo, pairs_memo, utf8_names, limit) ------------------- */

/* One of a series' labels while its head is made. */
typedef struct {
    PyObject *pair;   /* borrowed: the call's label sets hold it */
    PyObject *key;    /* its name, borrowed */
    PyObject *part;   /* its encoded Label, a strong reference */
    const char *data; /* the part's bytes */
    Py_ssize_t size;
} label_t;

/* The label encoder's memories, and the series made last: a series whose pairs, or names, are
 * the same objects as the series before's (label values and names are shared across the
 * series of a target, and a family's series follow each other) takes their encodings and
 * sorting verdicts from it, without looking them up or comparing them again. */
typedef struct {
    PyObject *names_memo; /* LabelEncoder._names: name -> encoded __name__ label (or a reason) */
    PyObject *pairs_memo; /* LabelEncoder._pairs: (name, value) -> encoded Label (or a reason) */
    int utf8_names;       /* any non-empty name is valid, not only the legacy ones */
    Py_ssize_t limit;     /* encode.LABEL_MEMO_SIZE */
    PyObject *name_key;   /* b"__name__" */
    PyObject *name_str;   /* "__name__": label names are compared with it as str (one may hold a NUL,
                           * which ends PyUnicode_CompareWithASCIIString's comparison) */
    label_t *labels, *previous;
    Py_ssize_t previous_count, capacity;
    PyObject *previous_name; /* borrowed, as the pairs */
    PyObject *previous_first; /* its encoded __name__ label, strong; NULL before the first */
} encoder_t;

/* names.LEGACY_METRIC_NAME ([a-zA-Z_:][a-zA-Z0-9_:]*) or, with `label`, LEGACY_LABEL_NAME (no
 * ':'), over a name's UTF-8 bytes: a byte above 0x7f is no legacy character. */
static int is_legacy(const char *name, Py_ssize_t size, int label) {
    Py_ssize_t index;
    if (size == 0) {
        return 0;
    }
    for (index = 0; index < size; index++) {
        char c = name[index];
        int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c == ':' && !label);
        if (!letter && !(index > 0 && c >= '0' && c <= '9')) {
            return 0;
        }
    }
    return 1;
}

/* A str's UTF-8 bytes (a new reference); Py_None, new, when it has none (a lone surrogate). */
static PyObject *utf8_of(PyObject *text) {
    PyObject *encoded = PyUnicode_AsUTF8String(text);
    if (encoded == NULL && PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    return encoded;
}

/* An encoded TimeSeries.labels entry: Label{name, value} in its field. */
static PyObject *label_entry(PyObject *name, PyObject *value) {
    const char *key = PyBytes_AsString(name), *text = PyBytes_AsString(value);
    Py_ssize_t key_size = PyBytes_Size(name), text_size = PyBytes_Size(value);
    Py_ssize_t inner = field_size(key_size) + field_size(text_size);
    PyObject *out = PyBytes_FromStringAndSize(NULL, field_size(inner));
    char *at;
    if (out == NULL) {
        return NULL;
    }
    at = PyBytes_AsString(out);
    *at++ = TAG_TIMESERIES_LABEL;
    at = put_varint(at, (uint64_t)inner);
    at = put_field(at, TAG_LABEL_NAME, key, key_size);
    put_field(at, TAG_LABEL_VALUE, text, text_size);
    return out;
}

/* `memo[key] = value`, the memory started afresh at its bound (as LabelEncoder._label). */
static int remember(PyObject *memo, PyObject *key, PyObject *value, Py_ssize_t limit) {
    if (PyDict_Size(memo) >= limit) {
        PyDict_Clear(memo);
    }
    return PyDict_SetItem(memo, key, value);
}

/* `memo`'s entry for `key`: FOUND with a new reference to it in `found` when it is bytes,
 * REFUSED when it is a reason (the Python path's), ABSENT, or -1 on an error. */
enum { ABSENT, FOUND, REFUSED };

static int looked_up(PyObject *memo, PyObject *key, PyObject **found) {
    PyObject *entry = PyDict_GetItemWithError(memo, key);
    if (entry == NULL) {
        return PyErr_Occurred() ? -1 : ABSENT;
    }
    if (!PyBytes_CheckExact(entry)) {
        return REFUSED;
    }
    Py_INCREF(entry);
    *found = entry;
    return FOUND;
}

/* The encoded Label of a (name, value) pair of exact str, new, made and remembered when the
 * memory lacks it; Py_None (new) when Remote Write refuses it (a reason remembered, an empty
 * value, an invalid name, no UTF-8: encode._encode_label), for the Python path to say why. */
static PyObject *pair_label(encoder_t *encoder, PyObject *pair) {
    PyObject *found = NULL, *key, *text, *made;
    int state = looked_up(encoder->pairs_memo, pair, &found);
    if (state != ABSENT) {
        return state == FOUND ? found : state == REFUSED ? Py_NewRef(Py_None) : NULL;
    }
    if (PyUnicode_GetLength(PyTuple_GetItem(pair, 1)) == 0) {
        Py_RETURN_NONE;
    }
    key = utf8_of(PyTuple_GetItem(pair, 0));
    if (key == NULL || key == Py_None) {
        return key;
    }
    if (encoder->utf8_names ? PyBytes_Size(key) == 0 : !is_legacy(PyBytes_AsString(key), PyBytes_Size(key), 1)) {
        Py_DECREF(key);
        Py_RETURN_NONE;
    }
    text = utf8_of(PyTuple_GetItem(pair, 1));
    if (text == NULL || text == Py_None) {
        Py_DECREF(key);
        return text;
    }
    made = label_entry(key, text);
    Py_DECREF(key);
    Py_DECREF(text);
    if (made != NULL && remember(encoder->pairs_memo, pair, made, encoder->limit) < 0) {
        Py_CLEAR(made);
    }
    return made;
}

/* The encoded __name__ label of a metric name (exact str), new, made and remembered when the
 * memory lacks it; Py_None (new) when it is refused (LabelEncoder._name_label). */
static PyObject *name_label(encoder_t *encoder, PyObject *name) {
    PyObject *found = NULL, *bytes, *made;
    int state = looked_up(encoder->names_memo, name, &found);
    if (state != ABSENT) {
        return state == FOUND ? found : state == REFUSED ? Py_NewRef(Py_None) : NULL;
    }
    bytes = utf8_of(name);
    if (bytes == NULL || bytes == Py_None) {
        return bytes;
    }
    if (encoder->utf8_names ? PyBytes_Size(bytes) == 0 : !is_legacy(PyBytes_AsString(bytes), PyBytes_Size(bytes), 0)) {
        Py_DECREF(bytes);
        Py_RETURN_NONE;
    }
    made = label_entry(encoder->name_key, bytes);
    Py_DECREF(bytes);
    if (made != NULL && remember(encoder->names_memo, name, made, encoder->limit) < 0) {
        Py_CLEAR(made);
    }
    return made;
}

/* Room for `count` labels in both of the encoder's arrays; -1 (MemoryError) when there is none. */
static int reserve(encoder_t *encoder, Py_ssize_t count) {
    label_t *grown;
    if (count <= encoder->capacity) {
        return 0;
    }
    if ((size_t)count > PY_SSIZE_T_MAX / sizeof(label_t)) {
        PyErr_NoMemory();
        return -1;
    }
    grown = PyMem_Realloc(encoder->labels, (size_t)count * sizeof(label_t));
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    encoder->labels = grown;
    grown = PyMem_Realloc(encoder->previous, (size_t)count * sizeof(label_t));
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    encoder->previous = grown;
    encoder->capacity = count;
    return 0;
}

static void release(label_t *labels, Py_ssize_t count) {
    Py_ssize_t index;
    for (index = 0; index < count; index++) {
        Py_DECREF(labels[index].part);
    }
}

/* Whether a series' labels are exact (str, str) tuples whose names are sorted, unique and after
 * __name__ (encode._plain): the only series made here. Notes each pair in `encoder->labels`. */
static int plain(encoder_t *encoder, PyObject *labels, Py_ssize_t count) {
    PyObject *before = NULL;
    int carried = 1; /* the names so far are the series before's, which were in order */
    Py_ssize_t index;
    for (index = 0; index < count; index++) {
        PyObject *pair = PyTuple_GetItem(labels, index), *key;
        if (!PyTuple_CheckExact(pair) || PyTuple_Size(pair) != 2) {
            return 0;
        }
        key = PyTuple_GetItem(pair, 0);
        if (!PyUnicode_CheckExact(key) || !PyUnicode_CheckExact(PyTuple_GetItem(pair, 1))) {
            return 0;
        }
        carried = carried && index < encoder->previous_count && key == encoder->previous[index].key;
        /* exact str: neither comparison raises */
        if (!carried && PyUnicode_Compare(key, before == NULL ? encoder->name_str : before) <= 0) {
            return 0;
        }
        before = key;
        encoder->labels[index].pair = pair;
        encoder->labels[index].key = key;
    }
    return 1;
}

/* The encoded __name__ label of the series' name (new), from the series before's if it is the
 * same object; Py_None when it is refused. */
static PyObject *first_label(encoder_t *encoder, PyObject *name) {
    PyObject *first;
    if (name == encoder->previous_name && encoder->previous_first != NULL) {
        return Py_NewRef(encoder->previous_first);
    }
    first = name_label(encoder, name);
    if (first != NULL && first != Py_None) {
        Py_XDECREF(encoder->previous_first);
        encoder->previous_first = Py_NewRef(first);
        encoder->previous_name = name;
    }
    return first;
}

/* The head of a series of `count` labels, noted in `encoder->labels` with their parts, and its
 * `__name__` label `first`: TimeSeries entry tag and length, the labels, the sample's start. */
static PyObject *joined(encoder_t *encoder, PyObject *first, Py_ssize_t count, Py_ssize_t size) {
    PyObject *out = PyBytes_FromStringAndSize(
        NULL, 1 + varint_size((uint64_t)(size + SAMPLE_FIELD_BYTES)) + size + SAMPLE_HEAD_BYTES);
    Py_ssize_t index;
    char *at;
    if (out == NULL) {
        return NULL;
    }
    at = PyBytes_AsString(out);
    *at++ = TAG_WRITE_REQUEST_TIMESERIES;
    at = put_varint(at, (uint64_t)(size + SAMPLE_FIELD_BYTES));
    memcpy(at, PyBytes_AsString(first), (size_t)PyBytes_Size(first));
    at += PyBytes_Size(first);
    for (index = 0; index < count; index++) {
        memcpy(at, encoder->labels[index].data, (size_t)encoder->labels[index].size);
        at += encoder->labels[index].size;
    }
    *at++ = TAG_TIMESERIES_SAMPLE;
    *at++ = (char)(SAMPLE_FIELD_BYTES - 2); /* the sample's length: all of it but its tag and length */
    *at = TAG_SAMPLE_VALUE;
    return out;
}

/* The series_head of one series, new; Py_None when the Python path makes it. */
static PyObject *series_head(encoder_t *encoder, PyObject *name, PyObject *labels) {
    PyObject *first, *out;
    Py_ssize_t count, held, size;
    label_t *swap;
    if (!PyUnicode_CheckExact(name) || !PyTuple_CheckExact(labels)) {
        Py_RETURN_NONE;
    }
    count = PyTuple_Size(labels);
    if (reserve(encoder, count) < 0) {
        return NULL;
    }
    if (!plain(encoder, labels, count)) {
        Py_RETURN_NONE;
    }
    first = first_label(encoder, name);
    if (first == NULL || first == Py_None) {
        return first;
    }
    size = PyBytes_Size(first);
    for (held = 0; held < count; held++) {
        label_t *label = &encoder->labels[held], *before = &encoder->previous[held];
        if (held < encoder->previous_count && label->pair == before->pair) {
            label->part = Py_NewRef(before->part);
            label->data = before->data;
            label->size = before->size;
        } else {
            PyObject *part = pair_label(encoder, label->pair);
            if (part == NULL || part == Py_None) {
                release(encoder->labels, held);
                Py_DECREF(first);
                return part;
            }
            label->part = part;
            label->data = PyBytes_AsString(part);
            label->size = PyBytes_Size(part);
        }
        size += label->size;
    }
    out = joined(encoder, first, count, size);
    Py_DECREF(first);
    if (out == NULL) {
        release(encoder->labels, count);
        return NULL;
    }
    release(encoder->previous, encoder->previous_count); /* this series is the one before, now */
    swap = encoder->previous;
    encoder->previous = encoder->labels;
    encoder->labels = swap;
    encoder->previous_count = count;
    return out;
}

/* LabelEncoder.heads(names, label_sets) for the series whose label pairs are plainly sorted
 * after __name__ and all accepted: a list of each series' series_head, None for each series
 * left to the Python path (LabelEncoder.labels). The pairs' and names' encodings are taken
 * from and kept in the encoder's memories (bounded by `limit`). None for the whole call when
 * the arguments are not two lists of equal length and two dicts. */
static PyObject *wire_heads(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    encoder_t encoder = {0};
    PyObject *names, *label_sets, *out;
    Py_ssize_t count, index;
    (void)self;
    if (!takes("heads", nargs, 6)) {
        return NULL;
    }
    names = args[0];
    label_sets = args[1];
    encoder.names_memo = args[2];
    encoder.pairs_memo = args[3];
    encoder.utf8_names = PyObject_IsTrue(args[4]);
    encoder.limit = PyLong_AsSsize_t(args[5]);
    if (encoder.utf8_names < 0 || (encoder.limit == -1 && PyErr_Occurred())) {
        return NULL;
    }
    if (!PyList_CheckExact(names) || !PyList_CheckExact(label_sets) || !PyDict_CheckExact(encoder.names_memo) ||
        !PyDict_CheckExact(encoder.pairs_memo) || encoder.limit < 1 ||
        (count = PyList_Size(names)) != PyList_Size(label_sets)) {
        Py_RETURN_NONE;
    }
    encoder.name_key = PyBytes_FromStringAndSize("__name__", 8);
    encoder.name_str = PyUnicode_FromStringAndSize("__name__", 8);
    out = encoder.name_key == NULL || encoder.name_str == NULL ? NULL : PyList_New(count);
    for (index = 0; out != NULL && index < count; index++) {
        PyObject *head = series_head(&encoder, PyList_GetItem(names, index), PyList_GetItem(label_sets, index));
        if (head == NULL) {
            Py_CLEAR(out);
            break;
        }
        PyList_SetItem(out, index, head);
    }
    release(encoder.previous, encoder.previous_count);
    PyMem_Free(encoder.labels);
    PyMem_Free(encoder.previous);
    Py_XDECREF(encoder.previous_first);
    Py_XDECREF(encoder.name_key);
    Py_XDECREF(encoder.name_str);
    return out;
}

/* -- the module ---------------------------------------------------------------------------- */

static PyMethodDef wire_methods[] = {
    {"known", (PyCFunction)(void (*)(void))wire_known, METH_FASTCALL,
     "known(tile, known, runs, stamps, Sample): a tile's heads by ref (convert.to_series)."},
    {"columns", (PyCFunction)(void (*)(void))wire_columns, METH_FASTCALL,
     "columns(heads, samples, Sample): a WriteRequest of one-sample series (encode.encode_columns)."},
    {"heads", (PyCFunction)(void (*)(void))wire_heads, METH_FASTCALL,
     "heads(names, label_sets, names_memo, pairs_memo, utf8_names, limit): new series' heads "
     "(encode.LabelEncoder.heads)."},
    {NULL, NULL, 0, NULL},
};

static int wire_exec(PyObject *module) {
    return PyModule_AddIntConstant(module, "API", API);
}

static PyModuleDef_Slot wire_slots[] = {
    {Py_mod_exec, wire_exec},
    {0, NULL},
};

static struct PyModuleDef wire_module = {
    PyModuleDef_HEAD_INIT, "_wire", "The Remote Write sink's compiled kernel (docs/native.md).", 0,
    wire_methods,          wire_slots, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__wire(void) {
    return PyModuleDef_Init(&wire_module);
}
