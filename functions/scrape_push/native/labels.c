/* scrape_push._labels: the series cache's passes over every new series and every sample, in C.
 *
 * paired() does what scrape/labelsets.py's paired_labels does (the final labels of a target's
 * new plain series), samples() what the Python path of scrape/series.py's SeriesCache._samples
 * does (a chunk's Sample objects); those stay the reference and the fallback: where its input
 * leaves the fast path a function returns None ("not mine") and the Python code does the whole
 * call. Neither raises for data (only MemoryError) or releases the GIL; neither calls Python
 * code but what a collection its allocations start may run (its dict keys are str and tuples of
 * str); each reads only within its arguments and allocates in proportion to them.
 * docs/native.md, "The labels kernel".
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The fields of a scrape.labelsets.ShapePlan that paired() reads. */
enum {
    PLAN_KEPT = 3,
    PLAN_PAIRS = 4,
    PLAN_PICK_PAIRS = 5,
    PLAN_KEPT_AT = 6,
    PLAN_FINAL_AT = 7,
    PLAN_FIELDS = 8,
};

typedef struct {
    PyObject *kept;     /* the kept labels' names: a tuple of str */
    PyObject *pairs;    /* the target's interned pairs: a tuple */
    PyObject *kept_at;  /* each kept label's index among the set's values: ascending ints */
    PyObject *final_at; /* each final pair's index among the kept pairs followed by the target's */
} Plan;

/* None, or the MemoryError that is the only exception paired() raises. */
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

/* Item i of a tuple of ints as an index, -1 when it is not a non-negative int. */
static Py_ssize_t
index_at(PyObject *tuple, Py_ssize_t i)
{
    PyObject *item = PyTuple_GetItem(tuple, i);
    if (item == NULL || !PyLong_CheckExact(item)) {
        return -1;
    }
    Py_ssize_t found = PyLong_AsSsize_t(item);
    return found < 0 ? -1 : found; /* an overflow is -1 with its error, cleared by not_mine() */
}

/* The fields of a plan that keeps each exposed label's name; 0 when it is not one. */
static int
read_plan(PyObject *plan, Plan *out)
{
    if (!PyTuple_Check(plan) || PyTuple_Size(plan) < PLAN_FIELDS) {
        return 0;
    }
    out->kept = PyTuple_GetItem(plan, PLAN_KEPT);
    out->pairs = PyTuple_GetItem(plan, PLAN_PAIRS);
    out->kept_at = PyTuple_GetItem(plan, PLAN_KEPT_AT);
    out->final_at = PyTuple_GetItem(plan, PLAN_FINAL_AT);
    PyObject *pick_pairs = PyTuple_GetItem(plan, PLAN_PICK_PAIRS);
    return out->kept != NULL && out->pairs != NULL && out->kept_at != NULL && out->final_at != NULL
           && pick_pairs != NULL && pick_pairs != Py_None && PyTuple_Check(out->kept)
           && PyTuple_Check(out->pairs) && PyTuple_Check(out->kept_at) && PyTuple_Check(out->final_at)
           && PyTuple_Size(out->kept) == PyTuple_Size(out->kept_at);
}

/* The one object of pair in interned (the first equal one, else pair itself, added); a new
 * reference, stealing pair's; NULL on an error. */
static PyObject *
interned_pair(PyObject *interned, PyObject *pair)
{
    PyObject *found = PyDict_GetItemWithError(interned, pair);
    if (found != NULL) {
        Py_INCREF(found);
        Py_DECREF(pair);
        return found;
    }
    if (PyErr_Occurred() || PyDict_SetItem(interned, pair, pair) < 0) {
        Py_DECREF(pair);
        return NULL;
    }
    return pair;
}

/* The interned pairs of the kept labels of one plain label set, in order, as
 * text.split('"')[1::2] gives its values: value v runs from the quote 2v to the next quote, or
 * to the end of the text. A new tuple; NULL with no error when a kept value is missing (the
 * reference raises or picks nothing: the Python path says which), NULL with one on an error. */
static PyObject *
exposed_pairs(PyObject *text, const Plan *plan, PyObject *interned)
{
    Py_ssize_t length = PyUnicode_GetLength(text);
    Py_ssize_t count = PyTuple_Size(plan->kept);
    if (length < 0 || count < 0) {
        return NULL;
    }
    PyObject *pairs = PyTuple_New(count);
    if (pairs == NULL) {
        return NULL;
    }
    Py_ssize_t at = 0, value = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        Py_ssize_t wanted = index_at(plan->kept_at, k);
        PyObject *name = PyTuple_GetItem(plan->kept, k);
        if (wanted < value || name == NULL || !PyUnicode_CheckExact(name)) {
            goto missing; /* not ascending, or not an index or a name */
        }
        Py_ssize_t open = -1, close = -1;
        for (; value <= wanted; value++) {
            open = at < length ? PyUnicode_FindChar(text, '"', at, length, 1) : -1;
            if (open < 0) {
                goto missing; /* -1: no such value; -2: an error */
            }
            close = PyUnicode_FindChar(text, '"', open + 1, length, 1);
            if (close == -2) {
                goto missing;
            }
            close = close < 0 ? length : close;
            at = close + 1;
        }
        PyObject *found = PyUnicode_Substring(text, open + 1, close);
        if (found == NULL) {
            goto missing;
        }
        PyObject *pair = PyTuple_Pack(2, name, found);
        Py_DECREF(found);
        if (pair == NULL || (pair = interned_pair(interned, pair)) == NULL) {
            goto missing;
        }
        PyTuple_SetItem(pairs, k, pair); /* steals it; pairs is new, k in range: cannot fail */
    }
    return pairs;
missing:
    Py_DECREF(pairs);
    return NULL;
}

/* exposed + plan's pairs, picked at final_at: a new tuple; NULL with no error when a position is
 * out of range (the reference's one-item slice picks nothing: the Python path does it). */
static PyObject *
final_pairs(PyObject *exposed, const Plan *plan)
{
    Py_ssize_t from_set = PyTuple_Size(exposed), from_target = PyTuple_Size(plan->pairs);
    Py_ssize_t count = PyTuple_Size(plan->final_at);
    if (from_set < 0 || from_target < 0 || count < 0) {
        return NULL;
    }
    PyObject *final = PyTuple_New(count);
    if (final == NULL) {
        return NULL;
    }
    for (Py_ssize_t j = 0; j < count; j++) {
        Py_ssize_t at = index_at(plan->final_at, j);
        if (at < 0 || at >= from_set + from_target) {
            Py_DECREF(final);
            return NULL;
        }
        PyObject *pair = at < from_set ? PyTuple_GetItem(exposed, at)
                                       : PyTuple_GetItem(plan->pairs, at - from_set);
        if (pair == NULL) {
            Py_DECREF(final);
            return NULL;
        }
        Py_INCREF(pair);
        PyTuple_SetItem(final, j, pair);
    }
    return final;
}

/* Remember what the call built (texts and pairs, alternately in made) when all of it fits, as
 * the reference's one update does. */
static int
remember(PyObject *memo, PyObject *made, Py_ssize_t room)
{
    Py_ssize_t count = PyList_Size(made) / 2, held = PyDict_Size(memo);
    if (held < 0 || count == 0 || held + count > room) {
        return held < 0 ? -1 : 0;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (PyDict_SetItem(memo, PyList_GetItem(made, 2 * i), PyList_GetItem(made, 2 * i + 1)) < 0) {
            return -1;
        }
    }
    return 0;
}

/* paired(label_sets, plans, interned, memo, room) -> list of Labels, or None: see
 * scrape.labelsets.paired_labels (interned is its Interned, memo its label_sets, room
 * LABEL_SETS_MAX). */
static PyObject *
paired(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyList_Check(args[0]) || !PyList_Check(args[1]) || !PyDict_Check(args[2])
        || !PyDict_Check(args[3]) || !PyLong_CheckExact(args[4])) {
        return not_mine();
    }
    PyObject *label_sets = args[0], *plans = args[1], *interned = args[2], *memo = args[3];
    Py_ssize_t room = PyLong_AsSsize_t(args[4]);
    Py_ssize_t count = PyList_Size(label_sets);
    if (room < 0 || count < 0 || PyList_Size(plans) != count) {
        return not_mine();
    }
    PyObject *result = PyList_New(count);
    PyObject *made = PyList_New(0);
    if (result == NULL || made == NULL) {
        goto fail;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *text = PyList_GetItem(label_sets, i);
        Plan plan;
        if (text == NULL || !PyUnicode_CheckExact(text) || !read_plan(PyList_GetItem(plans, i), &plan)) {
            goto fail;
        }
        /* a new reference: a collection the allocations below start may run a finaliser that
         * lets another thread replace the memo's entry */
        PyObject *exposed = PyDict_GetItemWithError(memo, text);
        if (exposed != NULL) {
            Py_INCREF(exposed);
        }
        else if (PyErr_Occurred() || (exposed = exposed_pairs(text, &plan, interned)) == NULL) {
            goto fail;
        }
        else if (PyList_Append(made, text) < 0 || PyList_Append(made, exposed) < 0) {
            Py_DECREF(exposed);
            goto fail;
        }
        PyObject *final = PyTuple_Check(exposed) ? final_pairs(exposed, &plan) : NULL;
        Py_DECREF(exposed);
        if (final == NULL) {
            goto fail;
        }
        PyList_SetItem(result, i, final);
    }
    if (remember(memo, made, room) < 0) {
        goto fail;
    }
    Py_DECREF(made);
    return result;
fail:
    Py_XDECREF(result);
    Py_XDECREF(made);
    return not_mine();
}

/* The entry fields a sample takes (scrape.entries.SeriesEntry): metric, labels, family, ref. */
enum { ENTRY_FAMILY = 1, ENTRY_METRIC = 3, ENTRY_LABELS = 4, ENTRY_SERIES = 5, ENTRY_FIELDS = 6 };
/* model.Sample's fields, in order: name, labels, value, timestamp_ms, family, series, exemplar,
 * histogram. */
enum { SAMPLE_FIELDS = 8 };

/* One Sample (a new reference), as tuple.__new__(Sample, row) makes it: sample_type's tp_alloc,
 * then its items; NULL with no error when the entry is not one, with one on an error. */
static PyObject *
new_sample(allocfunc alloc, PyTypeObject *sample_type, PyObject *entry, PyObject *value, PyObject *stamp)
{
    if (!PyTuple_Check(entry) || PyTuple_Size(entry) < ENTRY_FIELDS) {
        return NULL;
    }
    PyObject *items[SAMPLE_FIELDS] = {
        PyTuple_GetItem(entry, ENTRY_METRIC), PyTuple_GetItem(entry, ENTRY_LABELS), value, stamp,
        PyTuple_GetItem(entry, ENTRY_FAMILY), PyTuple_GetItem(entry, ENTRY_SERIES), Py_None, Py_None,
    };
    PyObject *sample = alloc(sample_type, SAMPLE_FIELDS);
    if (sample == NULL) {
        return NULL;
    }
    for (Py_ssize_t k = 0; k < SAMPLE_FIELDS; k++) {
        Py_INCREF(items[k]);
        if (PyTuple_SetItem(sample, k, items[k]) < 0) { /* a fresh tuple of the size: cannot fail */
            Py_DECREF(sample);
            return NULL;
        }
    }
    return sample;
}

/* samples(sample_type, entries, values, stamp, named_only) -> list of Sample, or None: see
 * scrape.series.SeriesCache._samples (sample_type is model.Sample, named_only whether metric
 * relabeling may have dropped series: their metric is ""). */
static PyObject *
samples(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyType_Check(args[0]) || !PyType_IsSubtype((PyTypeObject *)args[0], &PyTuple_Type)
        || !PyList_Check(args[1]) || !PyList_Check(args[2]) || !PyBool_Check(args[4])) {
        return not_mine();
    }
    PyTypeObject *sample_type = (PyTypeObject *)args[0];
    allocfunc alloc = (allocfunc)PyType_GetSlot(sample_type, Py_tp_alloc);
    PyObject *entries = args[1], *values = args[2], *stamp = args[3];
    int named_only = args[4] == Py_True;
    Py_ssize_t count = PyList_Size(entries), given = PyList_Size(values);
    if (alloc == NULL || count < 0 || given < 0) {
        return not_mine();
    }
    count = given < count ? given : count; /* zip's: the shorter */
    PyObject *result = PyList_New(count);
    if (result == NULL) {
        return NULL;
    }
    Py_ssize_t made = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *entry = PyList_GetItem(entries, i);
        if (named_only) {
            PyObject *metric = PyTuple_Check(entry) && PyTuple_Size(entry) >= ENTRY_FIELDS
                                   ? PyTuple_GetItem(entry, ENTRY_METRIC)
                                   : NULL;
            if (metric == NULL || !PyUnicode_CheckExact(metric)) {
                goto fail;
            }
            if (PyUnicode_GetLength(metric) == 0) {
                continue; /* metric relabeling dropped it */
            }
        }
        PyObject *sample = new_sample(alloc, sample_type, entry, PyList_GetItem(values, i), stamp);
        if (sample == NULL) {
            goto fail;
        }
        PyList_SetItem(result, made++, sample);
    }
    if (made < count && PyList_SetSlice(result, made, count, NULL) < 0) {
        goto fail;
    }
    return result;
fail:
    Py_DECREF(result);
    return not_mine();
}

static PyMethodDef methods[] = {
    {"paired", (PyCFunction)(void (*)(void))paired, METH_FASTCALL,
     "paired(label_sets, plans, interned, memo, room): scrape.labelsets.paired_labels, or None."},
    {"samples", (PyCFunction)(void (*)(void))samples, METH_FASTCALL,
     "samples(sample_type, entries, values, stamp, named_only): SeriesCache._samples' Python path, or None."},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *module)
{
    return PyModule_AddIntConstant(module, "API", 1);
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, (void *)exec_module},
    {0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "scrape_push._labels",
    "The series cache's passes over new series and samples (docs/native.md).", 0, methods, slots, NULL, NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__labels(void)
{
    return PyModuleDef_Init(&definition);
}
