/*
 * stress._atomic: sequentially consistent 64-bit atomics over a writable buffer.
 *
 * One Atomic64 object wraps one buffer (an mmap of the arena).  The pointer is
 * taken once from the buffer protocol; every method is METH_FASTCALL and
 * bounds-checks its slot index, so a wrong index raises IndexError instead of
 * scribbling over a neighbour's memory.  The return conventions follow the
 * kernel: fetch_* return the old value, cas is cmpxchg (returns the old value),
 * add_unless is atomic_fetch_add_unless (returns the old value).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

typedef struct {
    PyObject_HEAD
    Py_buffer view;
    int64_t *slots;
    Py_ssize_t nslots;
} Atomic64;

static int
atomic64_init(Atomic64 *self, PyObject *args, PyObject *kwds)
{
    PyObject *obj;
    static char *kwlist[] = {"buffer", NULL};

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:Atomic64", kwlist, &obj))
        return -1;
    if (self->slots != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Atomic64 already initialised");
        return -1;
    }
    if (PyObject_GetBuffer(obj, &self->view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (((uintptr_t)self->view.buf) % 8 != 0) {
        PyBuffer_Release(&self->view);
        PyErr_SetString(PyExc_ValueError, "buffer is not 8-byte aligned");
        return -1;
    }
    self->slots = (int64_t *)self->view.buf;
    self->nslots = self->view.len / 8;
    return 0;
}

static void
atomic64_dealloc(Atomic64 *self)
{
    if (self->slots != NULL) {
        self->slots = NULL;
        self->nslots = 0;
        PyBuffer_Release(&self->view);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Parse argument k as a slot index; -1 with an exception set on failure. */
static inline Py_ssize_t
slot_arg(Atomic64 *self, PyObject *const *args, Py_ssize_t k)
{
    Py_ssize_t i;

    if (self->slots == NULL) {
        PyErr_SetString(PyExc_ValueError, "Atomic64 buffer was released");
        return -1;
    }
    i = PyLong_AsSsize_t(args[k]);
    if (i == -1 && PyErr_Occurred())
        return -1;
    if (i < 0 || i >= self->nslots) {
        PyErr_Format(PyExc_IndexError, "slot %zd out of range [0, %zd)", i, self->nslots);
        return -1;
    }
    return i;
}

static inline int
value_arg(PyObject *const *args, Py_ssize_t k, int64_t *out)
{
    long long v = PyLong_AsLongLong(args[k]);
    if (v == -1 && PyErr_Occurred())
        return -1;
    *out = (int64_t)v;
    return 0;
}

static inline int
check_nargs(const char *name, Py_ssize_t nargs, Py_ssize_t want)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly %zd arguments (%zd given)",
                     name, want, nargs);
        return -1;
    }
    return 0;
}

#define SEQ __ATOMIC_SEQ_CST

static PyObject *
atomic64_load(Atomic64 *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t i;
    if (check_nargs("load", nargs, 1) < 0 || (i = slot_arg(self, args, 0)) < 0)
        return NULL;
    return PyLong_FromLongLong(__atomic_load_n(&self->slots[i], SEQ));
}

static PyObject *
atomic64_store(Atomic64 *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t i;
    int64_t v;
    if (check_nargs("store", nargs, 2) < 0 || (i = slot_arg(self, args, 0)) < 0 ||
        value_arg(args, 1, &v) < 0)
        return NULL;
    __atomic_store_n(&self->slots[i], v, SEQ);
    Py_RETURN_NONE;
}

static PyObject *
atomic64_fetch_add(Atomic64 *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t i;
    int64_t v;
    if (check_nargs("fetch_add", nargs, 2) < 0 || (i = slot_arg(self, args, 0)) < 0 ||
        value_arg(args, 1, &v) < 0)
        return NULL;
    return PyLong_FromLongLong(__atomic_fetch_add(&self->slots[i], v, SEQ));
}

static PyObject *
atomic64_fetch_or(Atomic64 *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t i;
    int64_t v;
    if (check_nargs("fetch_or", nargs, 2) < 0 || (i = slot_arg(self, args, 0)) < 0 ||
        value_arg(args, 1, &v) < 0)
        return NULL;
    return PyLong_FromLongLong(__atomic_fetch_or(&self->slots[i], v, SEQ));
}

static PyObject *
atomic64_fetch_and(Atomic64 *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t i;
    int64_t v;
    if (check_nargs("fetch_and", nargs, 2) < 0 || (i = slot_arg(self, args, 0)) < 0 ||
        value_arg(args, 1, &v) < 0)
        return NULL;
    return PyLong_FromLongLong(__atomic_fetch_and(&self->slots[i], v, SEQ));
}

/* cmpxchg: store new if the slot holds old; return what the slot held. */
static PyObject *
atomic64_cas(Atomic64 *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t i;
    int64_t old, new;
    if (check_nargs("cas", nargs, 3) < 0 || (i = slot_arg(self, args, 0)) < 0 ||
        value_arg(args, 1, &old) < 0 || value_arg(args, 2, &new) < 0)
        return NULL;
    __atomic_compare_exchange_n(&self->slots[i], &old, new, 0, SEQ, SEQ);
    return PyLong_FromLongLong(old);
}

/* atomic_fetch_add_unless: add a unless the slot holds u; return the old value. */
static PyObject *
atomic64_add_unless(Atomic64 *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t i;
    int64_t a, u, cur;
    if (check_nargs("add_unless", nargs, 3) < 0 || (i = slot_arg(self, args, 0)) < 0 ||
        value_arg(args, 1, &a) < 0 || value_arg(args, 2, &u) < 0)
        return NULL;
    cur = __atomic_load_n(&self->slots[i], SEQ);
    while (cur != u &&
           !__atomic_compare_exchange_n(&self->slots[i], &cur, cur + a, 1, SEQ, SEQ))
        ;
    return PyLong_FromLongLong(cur);
}

/*
 * Trace rings: tracer(base, nentries, pages, worker) binds one, and calling it with
 * (op, page, before, after, result, aux) appends one 8-word record to the ring at
 * slot base.  Slot base holds the ring's sequence number, records follow it:
 *   [ns, worker << 16 | op, page, before, after, result, gen, aux]
 * The timestamp (CLOCK_MONOTONIC) and the page's gen (word 7 of the 8-word
 * page record at slot pages + 8 * page) are read here, so a trace point costs
 * one call.  Only the ring's owner writes it; readers order records by time.
 */
#define TRACE_WORDS 8
#define RECORD_ARGS 6

/* Check a ring's place once: 0, or -1 with IndexError set. */
static int
check_ring(Atomic64 *self, Py_ssize_t base, int64_t n)
{
    if (n <= 0 || base + 1 + n * TRACE_WORDS > self->nslots) {
        PyErr_Format(PyExc_IndexError, "trace ring at %zd with %lld entries overruns %zd slots",
                     base, (long long)n, self->nslots);
        return -1;
    }
    return 0;
}

/* Append one record; r = op, page, before, after, result, aux.  The ring was checked. */
static void
trace_record(int64_t *slots, Py_ssize_t nslots, Py_ssize_t base, int64_t n, int64_t pages,
             int64_t worker, const int64_t *r)
{
    int64_t seq, gen = -1, *slot;
    struct timespec ts;

    if (r[1] >= 0 && pages + r[1] * 8 + 7 < nslots)
        gen = __atomic_load_n(&slots[pages + r[1] * 8 + 7], __ATOMIC_RELAXED);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    seq = __atomic_load_n(&slots[base], __ATOMIC_RELAXED);
    slot = &slots[base + 1 + (seq % n) * TRACE_WORDS];
    __atomic_store_n(&slot[0], (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, __ATOMIC_RELAXED);
    __atomic_store_n(&slot[1], worker << 16 | r[0], __ATOMIC_RELAXED);
    __atomic_store_n(&slot[2], r[1], __ATOMIC_RELAXED);
    __atomic_store_n(&slot[3], r[2], __ATOMIC_RELAXED);
    __atomic_store_n(&slot[4], r[3], __ATOMIC_RELAXED);
    __atomic_store_n(&slot[5], r[4], __ATOMIC_RELAXED);
    __atomic_store_n(&slot[6], gen, __ATOMIC_RELAXED);
    __atomic_store_n(&slot[7], r[5], __ATOMIC_RELAXED);
    __atomic_store_n(&slots[base], seq + 1, __ATOMIC_RELEASE);
}

/*
 * Tracer: a trace ring's four fixed arguments bound and checked once, called by
 * vectorcall with the record's six: tracer(op, page, before, after, result, aux).
 */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    Atomic64 *atomic;
    Py_ssize_t base;
    int64_t n, pages, worker;
} Tracer;

static PyObject *
tracer_vectorcall(Tracer *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    int64_t r[RECORD_ARGS];
    int k;

    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames)) {
        PyErr_SetString(PyExc_TypeError, "tracer() takes no keyword arguments");
        return NULL;
    }
    if (check_nargs("tracer", PyVectorcall_NARGS(nargsf), RECORD_ARGS) < 0)
        return NULL;
    if (self->atomic->slots == NULL) {
        PyErr_SetString(PyExc_ValueError, "Atomic64 buffer was released");
        return NULL;
    }
    for (k = 0; k < RECORD_ARGS; k++)
        if (value_arg(args, k, &r[k]) < 0)
            return NULL;
    trace_record(self->atomic->slots, self->atomic->nslots, self->base, self->n, self->pages,
                 self->worker, r);
    Py_RETURN_NONE;
}

static void
tracer_dealloc(Tracer *self)
{
    Py_XDECREF(self->atomic);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject TracerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stress._atomic.Tracer",
    .tp_basicsize = sizeof(Tracer),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "tracer(op, page, before, after, result, aux): append a record to its ring.",
    .tp_vectorcall_offset = offsetof(Tracer, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_dealloc = (destructor)tracer_dealloc,
};

static PyObject *
atomic64_tracer(Atomic64 *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t base;
    int64_t v[4];
    int k;
    Tracer *t;

    if (check_nargs("tracer", nargs, 4) < 0 || (base = slot_arg(self, args, 0)) < 0)
        return NULL;
    for (k = 1; k < 4; k++)
        if (value_arg(args, k, &v[k]) < 0)
            return NULL;
    if (check_ring(self, base, v[1]) < 0)
        return NULL;
    t = PyObject_New(Tracer, &TracerType);
    if (t == NULL)
        return NULL;
    t->vectorcall = (vectorcallfunc)tracer_vectorcall;
    t->atomic = (Atomic64 *)Py_NewRef(self);
    t->base = base;
    t->n = v[1];
    t->pages = v[2];
    t->worker = v[3];
    return (PyObject *)t;
}

/*
 * walk_links(base, n, head) -> (mask, end, at): follow a singly linked list whose
 * link for node p (0 <= p < n) is slot base + p, holding 1 + the next node, 0 at the
 * end; head is the first link.  mask (bytes, n long) has 1 for every node reached; end
 * is WALK_ENDS when the list ended, WALK_OUTSIDE when a link named no node (at = the
 * node it named), WALK_TWICE when a node came round again (at = that node).  For the audit's
 * free-list walk: a million links take a quarter of a second from Python, milliseconds
 * here, and a damaged list (a cycle, a wild link) still ends the walk.
 */
enum { WALK_ENDS, WALK_OUTSIDE, WALK_TWICE };

static PyObject *
atomic64_walk_links(Atomic64 *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t base;
    int64_t n, top, p = -1, *links;
    int end = WALK_ENDS;
    PyObject *mask;
    char *seen;

    if (check_nargs("walk_links", nargs, 3) < 0 || (base = slot_arg(self, args, 0)) < 0 ||
        value_arg(args, 1, &n) < 0 || value_arg(args, 2, &top) < 0)
        return NULL;
    if (n < 0 || base + n > self->nslots) {
        PyErr_Format(PyExc_IndexError, "links at %zd for %lld nodes overrun %zd slots",
                     base, (long long)n, self->nslots);
        return NULL;
    }
    mask = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
    if (mask == NULL)
        return NULL;
    seen = PyBytes_AS_STRING(mask);
    memset(seen, 0, (size_t)n);
    links = &self->slots[base];
    while (top != 0) {
        p = top - 1;
        if (p < 0 || p >= n) {
            end = WALK_OUTSIDE;
            break;
        }
        if (seen[p]) {
            end = WALK_TWICE;
            break;
        }
        seen[p] = 1;
        top = __atomic_load_n(&links[p], __ATOMIC_RELAXED);
    }
    return Py_BuildValue("(NiL)", mask, end, (long long)(end == WALK_ENDS ? -1 : p));
}

static PyObject *
atomic64_release(Atomic64 *self, PyObject *Py_UNUSED(ignored))
{
    if (self->slots != NULL) {
        self->slots = NULL;
        self->nslots = 0;
        PyBuffer_Release(&self->view);
    }
    Py_RETURN_NONE;
}

static PyObject *
atomic64_enter(Atomic64 *self, PyObject *Py_UNUSED(ignored))
{
    return Py_NewRef(self);
}

static PyObject *
atomic64_exit(Atomic64 *self, PyObject *const *args, Py_ssize_t nargs)
{
    return atomic64_release(self, NULL);
}

static Py_ssize_t
atomic64_len(Atomic64 *self)
{
    return self->nslots;
}

static PyObject *
atomic64_get_released(Atomic64 *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->slots == NULL);
}

static PyObject *
monotonic_ns(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return PyLong_FromLongLong((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

static PyMethodDef atomic64_methods[] = {
    {"load", (PyCFunction)(void (*)(void))atomic64_load, METH_FASTCALL, "load(i) -> value"},
    {"store", (PyCFunction)(void (*)(void))atomic64_store, METH_FASTCALL, "store(i, v)"},
    {"fetch_add", (PyCFunction)(void (*)(void))atomic64_fetch_add, METH_FASTCALL,
     "fetch_add(i, d) -> old"},
    {"fetch_or", (PyCFunction)(void (*)(void))atomic64_fetch_or, METH_FASTCALL,
     "fetch_or(i, mask) -> old"},
    {"fetch_and", (PyCFunction)(void (*)(void))atomic64_fetch_and, METH_FASTCALL,
     "fetch_and(i, mask) -> old"},
    {"cas", (PyCFunction)(void (*)(void))atomic64_cas, METH_FASTCALL,
     "cas(i, old, new) -> previous value (success iff it equals old)"},
    {"add_unless", (PyCFunction)(void (*)(void))atomic64_add_unless, METH_FASTCALL,
     "add_unless(i, a, u) -> old (added iff old != u)"},
    {"walk_links", (PyCFunction)(void (*)(void))atomic64_walk_links, METH_FASTCALL,
     "walk_links(base, n, head) -> (mask, end, at): follow a linked list"},
    {"tracer", (PyCFunction)(void (*)(void))atomic64_tracer, METH_FASTCALL,
     "tracer(base, nentries, pages, worker) -> Tracer: a trace ring, bound"},
    {"release", (PyCFunction)atomic64_release, METH_NOARGS, "release the buffer"},
    {"__enter__", (PyCFunction)atomic64_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))atomic64_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef atomic64_getset[] = {
    {"released", (getter)atomic64_get_released, NULL, "whether the buffer was released", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods atomic64_as_sequence = {
    .sq_length = (lenfunc)atomic64_len,
};

static PyTypeObject Atomic64Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stress._atomic.Atomic64",
    .tp_basicsize = sizeof(Atomic64),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Sequentially consistent 64-bit atomics over a writable buffer.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)atomic64_init,
    .tp_dealloc = (destructor)atomic64_dealloc,
    .tp_methods = atomic64_methods,
    .tp_getset = atomic64_getset,
    .tp_as_sequence = &atomic64_as_sequence,
};

static PyMethodDef module_methods[] = {
    {"monotonic_ns", (PyCFunction)monotonic_ns, METH_NOARGS,
     "CLOCK_MONOTONIC in ns, the clock trace records use"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef atomicmodule = {
    PyModuleDef_HEAD_INIT, "stress._atomic",
    "Sequentially consistent 64-bit atomics over shared memory.", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__atomic(void)
{
    PyObject *m;
    if (PyType_Ready(&Atomic64Type) < 0 || PyType_Ready(&TracerType) < 0)
        return NULL;
    m = PyModule_Create(&atomicmodule);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Atomic64", (PyObject *)&Atomic64Type) < 0 ||
        PyModule_AddObjectRef(m, "Tracer", (PyObject *)&TracerType) < 0 ||
        PyModule_AddIntConstant(m, "TRACE_WORDS", TRACE_WORDS) < 0 ||
        PyModule_AddIntConstant(m, "WALK_ENDS", WALK_ENDS) < 0 ||
        PyModule_AddIntConstant(m, "WALK_OUTSIDE", WALK_OUTSIDE) < 0 ||
        PyModule_AddIntConstant(m, "WALK_TWICE", WALK_TWICE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
