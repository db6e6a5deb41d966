"""A throwaway kernel for the build's tests: the C source of a module ``_probe`` (``API`` 1) with
one function, written where a test wants it, so that the build is tested without a production
kernel."""

from __future__ import annotations

from pathlib import Path

NAME = "probe"
API = 1

SOURCE = r"""
#include <Python.h>
#include <string.h>

/* twice("ab") == "abab": enough C to need libc (memcpy) and the stable ABI. */
static PyObject *twice(PyObject *module, PyObject *text) {
    (void)module;
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &size);
    if (utf8 == NULL) {
        return NULL;
    }
    char *buffer = PyMem_Malloc((size_t)size * 2 + 1);
    if (buffer == NULL) {
        return PyErr_NoMemory();
    }
    memcpy(buffer, utf8, (size_t)size);
    memcpy(buffer + size, utf8, (size_t)size);
    PyObject *result = PyUnicode_FromStringAndSize(buffer, size * 2);
    PyMem_Free(buffer);
    return result;
}

static PyMethodDef methods[] = {{"twice", twice, METH_O, NULL}, {NULL, NULL, 0, NULL}};

static int probe_exec(PyObject *module) { return PyModule_AddIntConstant(module, "API", 1); }

static PyModuleDef_Slot slots[] = {{Py_mod_exec, probe_exec}, {0, NULL}};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "_probe", NULL, 0, methods, slots, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__probe(void) { return PyModuleDef_Init(&definition); }
"""

NEWER_GLIBC = r"""
#include <Python.h>
#include <string.h>

/* strlcpy is glibc 2.38's: built against 2.38, the module needs GLIBC_2.38. */
static PyObject *copy(PyObject *module, PyObject *text) {
    (void)module;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, NULL);
    if (utf8 == NULL) {
        return NULL;
    }
    char buffer[4];
    return PyLong_FromSize_t(strlcpy(buffer, utf8, sizeof buffer));
}

static PyMethodDef methods[] = {{"copy", copy, METH_O, NULL}, {NULL, NULL, 0, NULL}};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "_probe", NULL, 0, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__probe(void) { return PyModuleDef_Init(&definition); }
"""


def sources(directory: Path, source: str = SOURCE) -> Path:
    """``directory`` holding ``probe.c`` (and nothing else to build)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{NAME}.c").write_text(source)
    return directory
