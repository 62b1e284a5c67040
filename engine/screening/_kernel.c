/* The screening kernel: the inner loops of name screening, in C.
 *
 * Owns the arithmetic every screening score is made of, and the two loops that run it over
 * many listed names per query:
 *
 *   allowed_edits(n)         edits two tokens may differ by, by the shorter one's length
 *   pair_distance(a, b)      edits between two tokens that may spell one word, else -1
 *                            (equal; a prefix of MIN_FUZZY_TOKEN letters or more; or within
 *                            the allowed edits, optimal string alignment distance)
 *   ratio(a, b)              rapidfuzz's fuzz.ratio: 100 * (1 - indel distance / lengths)
 *   coverage(a, b)           share of both names' characters in pairs of compatible tokens
 *   pairs(a, b)              the pairs of tokens that coverage counts (for explanations)
 *   Forms.qualify(...)       the variants whose token bound reaches the floor
 *   Forms.rank(...)          the best entries among candidate variants, scored exactly
 *   Vocabulary.similar(t)    the listed strings compatible with a query token
 *
 * engine.screening.scoring and engine.screening.index define what these compute (their
 * docstrings say why); this file only makes it fast. Tokens are ASCII ([a-z0-9], as
 * engine.screening.names writes them): a non-ASCII string is a ValueError. Nothing here
 * allocates Python objects per candidate, and nothing writes to the index's buffers, so the
 * pages a server's workers share with their master stay shared.
 *
 * Every function runs holding the GIL from start to end; the scratch buffer of `qualify` is
 * therefore never used by two calls at once.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_FUZZY_TOKEN 4   /* shorter tokens only pair with equal tokens */
#define INCOMPATIBLE (-1)
#define STACK_ROW 160       /* alignment rows up to this length live on the stack */
#define STACK_TOKENS 64     /* token lists up to this length live on the stack */

typedef struct {
    const unsigned char *s;
    Py_ssize_t n;
} Span;

/* ------------------------------------------------------------------------------------------
 * Tokens
 * ---------------------------------------------------------------------------------------- */

static int
allowed_for(Py_ssize_t shorter)
{
    return shorter < MIN_FUZZY_TOKEN ? 0 : shorter <= 7 ? 1 : 2;
}

/* The optimal string alignment distance of a and b if at most k, else k + 1 (-2: out of
 * memory). Only the diagonal band |i - j| <= k is computed: a cell outside it is more than k
 * edits, and so is any cell whose every predecessor is, so cells beyond the band are read as
 * k + 1 (the row buffers hold that sentinel just outside each row's band). */
static int
osa_within(const unsigned char *a, Py_ssize_t la, const unsigned char *b, Py_ssize_t lb, int k)
{
    if (la - lb > k || lb - la > k)
        return k + 1;
    Py_ssize_t m = lb + 1;
    int stack[3 * STACK_ROW];
    int *buf = m <= STACK_ROW ? stack : (int *)PyMem_Malloc(3 * (size_t)m * sizeof(int));
    if (buf == NULL)
        return -2;
    const int over = k + 1;
    int *prev2 = buf, *prev = buf + m, *cur = buf + 2 * m;
    for (Py_ssize_t j = 0; j < m; j++)
        prev[j] = prev2[j] = j <= k ? (int)j : over;
    int result = -3;
    for (Py_ssize_t i = 1; i <= la; i++) {
        Py_ssize_t lo = i - k > 1 ? i - k : 1, hi = i + k < lb ? i + k : lb;
        cur[0] = i <= k ? (int)i : over;
        int row_min = cur[0];
        if (lo - 1 >= 1)
            cur[lo - 1] = over;
        for (Py_ssize_t j = lo; j <= hi; j++) {
            int v = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                    prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            if (v > over)
                v = over;
            cur[j] = v;
            if (v < row_min)
                row_min = v;
        }
        if (hi + 1 <= lb)
            cur[hi + 1] = over;
        /* Every alignment passes through this row, or jumps over it by a transposition that
         * costs at least as much as a cell of it: none can come back under k. */
        if (row_min > k) {
            result = over;
            break;
        }
        int *spare = prev2;
        prev2 = prev;
        prev = cur;
        cur = spare;
    }
    if (result == -3)
        result = prev[lb] <= k ? prev[lb] : over;
    if (buf != stack)
        PyMem_Free(buf);
    return result;
}

/* The optimal string alignment distance between a fixed pattern of at most 64 characters,
 * given by the positions of each byte in it (`masks`), and `t` (Hyyrö's bit-parallel
 * algorithm, 2003: one machine word per character of `t`). */
static Py_ssize_t
osa_pattern(const uint64_t *masks, Py_ssize_t m, const unsigned char *t, Py_ssize_t n)
{
    if (m == 0)
        return n;
    uint64_t vp = ~(uint64_t)0, vn = 0, d0 = 0, previous = 0;
    const uint64_t last = (uint64_t)1 << (m - 1);
    Py_ssize_t distance = m;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t pm = masks[t[i]];
        uint64_t transposed = (((~d0) & pm) << 1) & previous;
        d0 = ((((pm & vp) + vp) ^ vp) | pm | vn) | transposed;
        uint64_t hp = vn | ~(d0 | vp);
        uint64_t hn = d0 & vp;
        distance += (hp & last) != 0;
        distance -= (hn & last) != 0;
        hp = (hp << 1) | 1;
        hn <<= 1;
        vp = hn | ~(d0 | hp);
        vn = hp & d0;
        previous = pm;
    }
    return distance;
}

/* Edits between two tokens that may spell one word, else INCOMPATIBLE (-2: out of memory). */
static int
pair_distance_of(const unsigned char *a, Py_ssize_t la, const unsigned char *b, Py_ssize_t lb)
{
    if (la == lb && memcmp(a, b, (size_t)la) == 0)
        return 0;
    Py_ssize_t shorter = la < lb ? la : lb;
    if (shorter >= MIN_FUZZY_TOKEN && memcmp(a, b, (size_t)shorter) == 0)
        return (int)(la > lb ? la - lb : lb - la);
    int k = allowed_for(shorter);
    if (k == 0)
        return INCOMPATIBLE;
    int d = osa_within(a, la, b, lb, k);
    if (d == -2)
        return -2;
    return d <= k ? d : INCOMPATIBLE;
}

/* ------------------------------------------------------------------------------------------
 * ratio: longest common subsequence, bit-parallel (Hyyrö), over 64-bit words
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    Py_ssize_t len;
    Py_ssize_t words;
    uint64_t *masks;  /* 256 * words: the positions of each byte in the pattern */
    uint64_t *state;  /* words: scratch for one comparison */
} Pattern;

static int
pattern_init(Pattern *p, const unsigned char *s, Py_ssize_t len)
{
    p->len = len;
    p->words = len / 64 + 1;
    p->masks = (uint64_t *)PyMem_Calloc((size_t)(257 * p->words), sizeof(uint64_t));
    if (p->masks == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    p->state = p->masks + 256 * p->words;
    for (Py_ssize_t i = 0; i < len; i++)
        p->masks[s[i] * p->words + i / 64] |= (uint64_t)1 << (i % 64);
    return 0;
}

static void
pattern_free(Pattern *p)
{
    PyMem_Free(p->masks);
    p->masks = NULL;
}

static Py_ssize_t
lcs_length(const Pattern *p, const unsigned char *t, Py_ssize_t lt)
{
    Py_ssize_t words = p->words;
    if (words == 1) {  /* the usual case: the pattern fits one word */
        uint64_t state = ~(uint64_t)0;
        for (Py_ssize_t i = 0; i < lt; i++) {
            uint64_t u = state & p->masks[t[i]];
            state = (state + u) | (state - u);
        }
        uint64_t used = p->len == 64 ? ~(uint64_t)0 : (((uint64_t)1 << p->len) - 1);
        return __builtin_popcountll(~state & used);
    }
    uint64_t *state = p->state;
    for (Py_ssize_t w = 0; w < words; w++)
        state[w] = ~(uint64_t)0;
    for (Py_ssize_t i = 0; i < lt; i++) {
        const uint64_t *mask = p->masks + t[i] * words;
        uint64_t carry = 0;
        for (Py_ssize_t w = 0; w < words; w++) {
            uint64_t s = state[w], u = s & mask[w];
            uint64_t sum = s + u;
            uint64_t c1 = sum < s;
            uint64_t total = sum + carry;
            carry = c1 | (total < sum);
            state[w] = total | (s - u);
        }
    }
    Py_ssize_t common = 0;
    for (Py_ssize_t w = 0; w < words; w++) {
        uint64_t zeros = ~state[w];
        Py_ssize_t bits = p->len - w * 64;
        if (bits < 64)
            zeros &= bits > 0 ? (((uint64_t)1 << bits) - 1) : 0;
        common += __builtin_popcountll(zeros);
    }
    return common;
}

static double
ratio_of(const Pattern *p, const unsigned char *t, Py_ssize_t lt)
{
    Py_ssize_t lengths = p->len + lt;
    if (lengths == 0)
        return 100.0;
    Py_ssize_t distance = lengths - 2 * lcs_length(p, t, lt);
    return (1.0 - (double)distance / (double)lengths) * 100.0;
}

/* ------------------------------------------------------------------------------------------
 * coverage
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    int distance;
    int i;
    int j;
} Pair;

static int
pair_order(const void *x, const void *y)
{
    const Pair *a = (const Pair *)x, *b = (const Pair *)y;
    if (a->distance != b->distance)
        return a->distance - b->distance;
    if (a->i != b->i)
        return a->i - b->i;
    return a->j - b->j;
}

static int
span_equal(Span a, Span b)
{
    return a.n == b.n && memcmp(a.s, b.s, (size_t)a.n) == 0;
}

/* Writes the tokens of `a` together into `out` (room for all their characters). */
static Py_ssize_t
joined(const Span *a, Py_ssize_t na, unsigned char *out)
{
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < na; i++) {
        memcpy(out + at, a[i].s, (size_t)a[i].n);
        at += a[i].n;
    }
    return at;
}

/* The tokens of `a` written with single spaces, as a str. */
static PyObject *
spaced(const Span *a, Py_ssize_t na)
{
    Py_ssize_t size = na ? na - 1 : 0;
    for (Py_ssize_t i = 0; i < na; i++)
        size += a[i].n;
    PyObject *out = PyUnicode_New(size, 127);
    if (out == NULL)
        return NULL;
    unsigned char *at = PyUnicode_1BYTE_DATA(out);
    for (Py_ssize_t i = 0; i < na; i++) {
        if (i)
            *at++ = ' ';
        memcpy(at, a[i].s, (size_t)a[i].n);
        at += a[i].n;
    }
    return out;
}

/* Appends (a written with spaces, b written with spaces) to `list`. */
static int
add_pair(PyObject *list, const Span *a, Py_ssize_t na, const Span *b, Py_ssize_t nb)
{
    PyObject *left = spaced(a, na), *right = left ? spaced(b, nb) : NULL;
    PyObject *pair = right ? PyTuple_Pack(2, left, right) : NULL;
    Py_XDECREF(left);
    Py_XDECREF(right);
    if (pair == NULL)
        return -1;
    int result = PyList_Append(list, pair);
    Py_DECREF(pair);
    return result;
}

/* The coverage (0-100) of token lists a and b; -1.0 with an exception set on failure.
 * `a_joined` is a's tokens written together (NULL: computed here). With `pairs_out` (a
 * list), the pairs it counts are appended to it as (token of a, token of b), equal tokens
 * first, in a's order, then the others in the order they were chosen; or the one pair of
 * both lists written with spaces when they pair as a whole. */
static double
coverage_of(const Span *a, Py_ssize_t na, const Span *b, Py_ssize_t nb,
            const unsigned char *a_joined, PyObject *pairs_out)
{
    Py_ssize_t chars_a = 0, chars_b = 0;
    for (Py_ssize_t i = 0; i < na; i++)
        chars_a += a[i].n;
    for (Py_ssize_t j = 0; j < nb; j++)
        chars_b += b[j].n;
    Py_ssize_t total = chars_a + chars_b;
    if (total == 0)
        return 0.0;
    double result = -1.0;
    unsigned char stack_text[256];
    unsigned char *text = total < 256 ? stack_text : (unsigned char *)PyMem_Malloc((size_t)total + 1);
    char stack_used[2 * STACK_TOKENS];
    int stack_index[2 * STACK_TOKENS];
    Pair stack_pairs[STACK_TOKENS];
    Py_ssize_t most = na > nb ? na : nb;
    char *used = most <= STACK_TOKENS ? stack_used : (char *)PyMem_Calloc(2 * (size_t)most, 1);
    int *index = most <= STACK_TOKENS ? stack_index
                                      : (int *)PyMem_Malloc(2 * (size_t)most * sizeof(int));
    Pair *found = NULL;
    if (text == NULL || used == NULL || index == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memset(used, 0, 2 * (size_t)most);
    /* A word split or joined differently: the token lists differ in length, the texts don't. */
    if (na != nb) {
        if (a_joined == NULL) {
            joined(a, na, text);
            a_joined = text;
        }
        joined(b, nb, text + chars_a);
        int d = pair_distance_of(a_joined, chars_a, text + chars_a, chars_b);
        if (d == -2) {
            PyErr_NoMemory();
            goto done;
        }
        if (d != INCOMPATIBLE) {
            if (pairs_out != NULL && add_pair(pairs_out, a, na, b, nb) < 0)
                goto done;
            result = 100.0;
            goto done;
        }
    }
    char *used_b = used, *used_a = used + most;
    int *rest_a = index, *rest_b = index + most;
    Py_ssize_t covered = 0, count_a = 0, count_b = 0;
    for (Py_ssize_t i = 0; i < na; i++) {
        Py_ssize_t j = 0;
        while (j < nb && (used_b[j] || !span_equal(a[i], b[j])))
            j++;
        if (j < nb) {
            used_b[j] = 1;
            covered += 2 * a[i].n;
            if (pairs_out != NULL && add_pair(pairs_out, &a[i], 1, &b[j], 1) < 0)
                goto done;
        } else {
            rest_a[count_a++] = (int)i;
        }
    }
    for (Py_ssize_t j = 0; j < nb; j++)
        if (!used_b[j])
            rest_b[count_b++] = (int)j;
    if (count_a && count_b) {
        found = count_a * count_b <= STACK_TOKENS ? stack_pairs
                : (Pair *)PyMem_Malloc((size_t)(count_a * count_b) * sizeof(Pair));
        if (found == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        Py_ssize_t pairs = 0;
        for (Py_ssize_t i = 0; i < count_a; i++) {
            for (Py_ssize_t j = 0; j < count_b; j++) {
                Span x = a[rest_a[i]], y = b[rest_b[j]];
                int d = pair_distance_of(x.s, x.n, y.s, y.n);
                if (d == -2) {
                    PyErr_NoMemory();
                    goto done;
                }
                if (d != INCOMPATIBLE)
                    found[pairs++] = (Pair){d, (int)i, (int)j};
            }
        }
        qsort(found, (size_t)pairs, sizeof(Pair), pair_order);
        memset(used, 0, 2 * (size_t)most);
        for (Py_ssize_t p = 0; p < pairs; p++) {
            if (!used_a[found[p].i] && !used_b[found[p].j]) {
                used_a[found[p].i] = 1;
                used_b[found[p].j] = 1;
                covered += a[rest_a[found[p].i]].n + b[rest_b[found[p].j]].n;
                if (pairs_out != NULL && add_pair(pairs_out, &a[rest_a[found[p].i]], 1,
                                                  &b[rest_b[found[p].j]], 1) < 0)
                    goto done;
            }
        }
    }
    result = 100.0 * (double)covered / (double)total;
done:
    if (text != stack_text)
        PyMem_Free(text);
    if (found != stack_pairs)
        PyMem_Free(found);
    if (used != stack_used)
        PyMem_Free(used);
    if (index != stack_index)
        PyMem_Free(index);
    return result;
}

/* Splits text at spaces into `out` (room for every token); returns the count. */
static Py_ssize_t
split_spaces(const unsigned char *s, Py_ssize_t n, Span *out)
{
    Py_ssize_t count = 0, start = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ' ') {
            out[count++] = (Span){s + start, i - start};
            start = i + 1;
        }
    }
    return count;
}

/* ------------------------------------------------------------------------------------------
 * Reading Python arguments
 * ---------------------------------------------------------------------------------------- */

static int
ascii_of(PyObject *o, Span *out, const char *what)
{
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be str, not %.100s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    if (!PyUnicode_IS_ASCII(o)) {
        PyErr_Format(PyExc_ValueError, "%s must be ASCII (screening tokens are [a-z0-9])", what);
        return -1;
    }
    out->s = PyUnicode_1BYTE_DATA(o);
    out->n = PyUnicode_GET_LENGTH(o);
    return 0;
}

/* The tokens of a sequence of str, as spans into the strings (which `seq` keeps alive). */
static Span *
spans_of(PyObject *seq, Py_ssize_t *count)
{
    PyObject *fast = PySequence_Fast(seq, "tokens must be a sequence of str");
    if (fast == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    Span *spans = (Span *)PyMem_Malloc((size_t)(n ? n : 1) * sizeof(Span));
    if (spans == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (ascii_of(PySequence_Fast_GET_ITEM(fast, i), &spans[i], "a token") < 0) {
            PyMem_Free(spans);
            Py_DECREF(fast);
            return NULL;
        }
    }
    /* The items are kept alive by `seq` itself: a tuple or list the caller holds. */
    Py_DECREF(fast);
    *count = n;
    return spans;
}

/* ------------------------------------------------------------------------------------------
 * Module functions
 * ---------------------------------------------------------------------------------------- */

static PyObject *
k_allowed_edits(PyObject *self, PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    return PyLong_FromLong(allowed_for(n));
}

static PyObject *
k_pair_distance(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Span a, b;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "pair_distance(a, b) takes two str");
        return NULL;
    }
    if (ascii_of(args[0], &a, "a") < 0 || ascii_of(args[1], &b, "b") < 0)
        return NULL;
    int d = pair_distance_of(a.s, a.n, b.s, b.n);
    if (d == -2)
        return PyErr_NoMemory();
    return PyLong_FromLong(d);
}

static PyObject *
k_ratio(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Span a, b;
    Pattern p;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "ratio(a, b) takes two str");
        return NULL;
    }
    if (ascii_of(args[0], &a, "a") < 0 || ascii_of(args[1], &b, "b") < 0)
        return NULL;
    if (pattern_init(&p, a.s, a.n) < 0)
        return NULL;
    double r = ratio_of(&p, b.s, b.n);
    pattern_free(&p);
    return PyFloat_FromDouble(r);
}

/* coverage(a, b) and pairs(a, b): the coverage of two token lists, and with `pairs_out`
 * (a list to fill) the pairs it counts; NULL with an exception set on failure. */
static PyObject *
covered(PyObject *const *args, Py_ssize_t nargs, const char *what, PyObject *pairs_out)
{
    Py_ssize_t na, nb;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "%s(a, b) takes two sequences of str", what);
        return NULL;
    }
    Span *a = spans_of(args[0], &na);
    if (a == NULL)
        return NULL;
    Span *b = spans_of(args[1], &nb);
    if (b == NULL) {
        PyMem_Free(a);
        return NULL;
    }
    double c = coverage_of(a, na, b, nb, NULL, pairs_out);
    PyMem_Free(a);
    PyMem_Free(b);
    return c < 0 ? NULL : PyFloat_FromDouble(c);
}

static PyObject *
k_coverage(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return covered(args, nargs, "coverage", NULL);
}

static PyObject *
k_pairs(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    PyObject *share = covered(args, nargs, "pairs", out);
    if (share == NULL) {
        Py_DECREF(out);
        return NULL;
    }
    Py_DECREF(share);
    return out;
}

/* A growing list of numbers (variants, vocabulary indexes). */
typedef struct {
    int32_t *items;
    Py_ssize_t size;
    Py_ssize_t room;
} Indexes;

static int
indexes_add(Indexes *list, Py_ssize_t i)
{
    if (list->size == list->room) {
        Py_ssize_t room = list->room ? 2 * list->room : 64;
        int32_t *grown = (int32_t *)PyMem_Realloc(list->items, (size_t)room * sizeof(int32_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        list->items = grown;
        list->room = room;
    }
    list->items[list->size++] = (int32_t)i;
    return 0;
}

static Py_ssize_t
int32_count(PyObject *o)
{
    Py_buffer probe;
    if (PyObject_GetBuffer(o, &probe, PyBUF_SIMPLE) < 0)
        return -1;
    Py_ssize_t n = probe.len / (Py_ssize_t)sizeof(int32_t);
    PyBuffer_Release(&probe);
    return n;
}

/* ------------------------------------------------------------------------------------------
 * Forms: the index's variant forms, read in place
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *natural;          /* str: every variant's tokens in natural order, one string */
    PyObject *sorted;           /* str: the same, each variant's tokens sorted */
    Py_buffer natural_offsets;  /* int32[n + 1] */
    Py_buffer sorted_offsets;   /* int32[n + 1] */
    Py_buffer owner;            /* int32[n]: the entry of each variant */
    Py_buffer chars;            /* int32[n]: the characters of each variant's tokens */
    Py_buffer token_ids;        /* int32[]: the variants of each listed string, end to end */
    Py_ssize_t count;
    int32_t *scratch;           /* qualify: points per variant (zero between calls) */
    int32_t *stamp;             /* qualify: the last query token that reached each variant */
} Forms;

static void
Forms_dealloc(Forms *self)
{
    Py_XDECREF(self->natural);
    Py_XDECREF(self->sorted);
    if (self->natural_offsets.obj)
        PyBuffer_Release(&self->natural_offsets);
    if (self->sorted_offsets.obj)
        PyBuffer_Release(&self->sorted_offsets);
    if (self->owner.obj)
        PyBuffer_Release(&self->owner);
    if (self->chars.obj)
        PyBuffer_Release(&self->chars);
    if (self->token_ids.obj)
        PyBuffer_Release(&self->token_ids);
    PyMem_Free(self->scratch);
    PyMem_Free(self->stamp);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
int32_buffer(PyObject *o, Py_buffer *view, Py_ssize_t items, const char *what)
{
    if (PyObject_GetBuffer(o, view, PyBUF_SIMPLE) < 0)
        return -1;
    if (view->len != items * (Py_ssize_t)sizeof(int32_t)) {
        PyErr_Format(PyExc_ValueError, "%s must hold %zd int32 values, not %zd bytes", what,
                     items, view->len);
        PyBuffer_Release(view);
        view->obj = NULL;
        return -1;
    }
    return 0;
}

static PyObject *
Forms_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"natural", "natural_offsets", "sorted", "sorted_offsets", "owner",
                            "chars", "token_ids", NULL};
    PyObject *natural, *natural_offsets, *sorted, *sorted_offsets, *owner, *chars, *token_ids;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "UOUOOOO:Forms", names, &natural,
                                     &natural_offsets, &sorted, &sorted_offsets, &owner, &chars,
                                     &token_ids))
        return NULL;
    if (!PyUnicode_IS_ASCII(natural) || !PyUnicode_IS_ASCII(sorted)) {
        PyErr_SetString(PyExc_ValueError, "variant forms must be ASCII");
        return NULL;
    }
    Forms *self = (Forms *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    Py_INCREF(natural);
    self->natural = natural;
    Py_INCREF(sorted);
    self->sorted = sorted;
    Py_buffer probe;
    if (PyObject_GetBuffer(owner, &probe, PyBUF_SIMPLE) < 0)
        goto fail;
    self->count = probe.len / (Py_ssize_t)sizeof(int32_t);
    PyBuffer_Release(&probe);
    if (int32_buffer(natural_offsets, &self->natural_offsets, self->count + 1,
                     "natural_offsets") < 0 ||
            int32_buffer(sorted_offsets, &self->sorted_offsets, self->count + 1,
                         "sorted_offsets") < 0 ||
            int32_buffer(owner, &self->owner, self->count, "owner") < 0 ||
            int32_buffer(chars, &self->chars, self->count, "chars") < 0 ||
            int32_buffer(token_ids, &self->token_ids, int32_count(token_ids), "token_ids") < 0)
        goto fail;
    const int32_t *ids = (const int32_t *)self->token_ids.buf;
    for (Py_ssize_t k = 0; k < self->token_ids.len / (Py_ssize_t)sizeof(int32_t); k++) {
        if (ids[k] < 0 || ids[k] >= self->count) {
            PyErr_SetString(PyExc_ValueError, "a token id names no variant");
            goto fail;
        }
    }
    const int32_t *n_off = (const int32_t *)self->natural_offsets.buf;
    const int32_t *s_off = (const int32_t *)self->sorted_offsets.buf;
    for (Py_ssize_t v = 0; v < self->count; v++) {
        if (n_off[v] > n_off[v + 1] || s_off[v] > s_off[v + 1] || n_off[v] < 0 || s_off[v] < 0) {
            PyErr_SetString(PyExc_ValueError, "variant offsets must ascend");
            goto fail;
        }
    }
    if (n_off[self->count] > PyUnicode_GET_LENGTH(natural) ||
            s_off[self->count] > PyUnicode_GET_LENGTH(sorted)) {
        PyErr_SetString(PyExc_ValueError, "variant offsets reach past their text");
        goto fail;
    }
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

static int
int32_order(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

static Py_ssize_t
variant_at(PyObject *fast, Py_ssize_t i, Py_ssize_t count)
{
    Py_ssize_t v = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(fast, i));
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < 0 || v >= count) {
        PyErr_Format(PyExc_IndexError, "variant %zd out of range", v);
        return -1;
    }
    return v;
}

/* The points each variant gets from `reaches`: one per query token occurrence, each as
 * Vocabulary.reach packs it (int32 triples: start, end, weight; heaviest first), `start:end`
 * the variants among the token ids that one compatible listed token reaches. A variant
 * counts once per occurrence, with the heaviest of its listed tokens. Fills self->scratch
 * and returns the number of variants reached, listed in `*touched` (to free; their scratch
 * and stamps to be zeroed by the caller), or -1 with an exception set. */
static Py_ssize_t
accumulate(Forms *self, PyObject *reaches, int32_t **touched_out)
{
    Py_ssize_t count = self->count;
    if (self->scratch == NULL) {
        self->scratch = (int32_t *)PyMem_Calloc((size_t)(count ? count : 1), sizeof(int32_t));
        self->stamp = (int32_t *)PyMem_Calloc((size_t)(count ? count : 1), sizeof(int32_t));
        if (self->scratch == NULL || self->stamp == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    PyObject *fast = PySequence_Fast(reaches, "reaches must be a sequence of bytes");
    if (fast == NULL)
        return -1;
    int32_t *points = self->scratch, *stamp = self->stamp;
    const int32_t *ids = (const int32_t *)self->token_ids.buf;
    Py_ssize_t id_count = self->token_ids.len / (Py_ssize_t)sizeof(int32_t);
    Py_ssize_t size = 0, room = 256;
    int32_t *touched = (int32_t *)PyMem_Malloc((size_t)room * sizeof(int32_t));
    if (touched == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t r = 0; r < PySequence_Fast_GET_SIZE(fast); r++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, r);
        if (!PyBytes_Check(item) || PyBytes_GET_SIZE(item) % (3 * sizeof(int32_t))) {
            PyErr_SetString(PyExc_TypeError, "a reach is the bytes of Vocabulary.reach");
            goto fail;
        }
        const int32_t *triple = (const int32_t *)PyBytes_AS_STRING(item);
        Py_ssize_t triples = PyBytes_GET_SIZE(item) / (Py_ssize_t)(3 * sizeof(int32_t));
        int32_t mark = (int32_t)(r + 1);
        for (Py_ssize_t t = 0; t < triples; t++, triple += 3) {
            int32_t start = triple[0], end = triple[1], weight = triple[2];
            if (start < 0 || start > end || end > id_count || weight < 1) {
                PyErr_SetString(PyExc_ValueError, "a reach names ids out of range");
                goto fail;
            }
            for (int32_t k = start; k < end; k++) {
                int32_t v = ids[k];
                if (stamp[v] == mark)
                    continue;
                if (points[v] == 0) {
                    if (size == room) {
                        room *= 2;
                        int32_t *grown = (int32_t *)PyMem_Realloc(
                            touched, (size_t)room * sizeof(int32_t));
                        if (grown == NULL) {
                            PyErr_NoMemory();
                            goto fail;
                        }
                        touched = grown;
                    }
                    touched[size++] = v;
                }
                stamp[v] = mark;
                points[v] += weight;
            }
        }
    }
    Py_DECREF(fast);
    *touched_out = touched;
    return size;
fail:
    Py_DECREF(fast);
    if (touched != NULL) {
        for (Py_ssize_t k = 0; k < size; k++) {
            points[touched[k]] = 0;
            stamp[touched[k]] = 0;
        }
        PyMem_Free(touched);
    }
    return -1;
}

/* The sorted list of the first `kept` numbers of `values`. */
static PyObject *
sorted_list(int32_t *values, Py_ssize_t kept)
{
    qsort(values, (size_t)kept, sizeof(int32_t), int32_order);
    PyObject *out = PyList_New(kept);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < kept; k++) {
        PyObject *number = PyLong_FromLong(values[k]);
        if (number == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, k, number);
    }
    return out;
}

/* Whether a variant of natural form length `length` can reach `floor` against a query of
 * natural form length `query`: fuzz.ratio, which bounds the score from above, is at most
 * 200 * shorter / (both lengths); a margin for rounding. */
static int
length_can_reach(Py_ssize_t query, Py_ssize_t length, double floor)
{
    Py_ssize_t lengths = query + length;
    Py_ssize_t shorter = query < length ? query : length;
    return lengths == 0 || 200.0 * (double)shorter / (double)lengths + 1e-9 >= floor;
}

/* qualify(reaches, loose, query_length, query_chars, floor) -> list[int]
 *
 * The variants that could score at least `floor`, ascending. Through tokens: those whose
 * points (see `accumulate`; a reach's weight is the most characters a pair with it covers)
 * reach the floor, 100 * points >= floor * (query_chars + the variant's characters).
 * Through `loose` (int32 (start, end, weight) triples, the weight unused: variants whose
 * tokens written together, or one token of which, are compatible with the query's tokens
 * written together): all of them. Either way only those whose natural form's length lets
 * the string score reach the floor (`length_can_reach`, query_length being the query's
 * tokens joined by spaces). */
static PyObject *
Forms_qualify(Forms *self, PyObject *args)
{
    PyObject *reaches;
    Py_buffer loose;
    Py_ssize_t query_length, query_chars;
    double floor;
    int32_t *touched;
    if (!PyArg_ParseTuple(args, "Oy*nnd:qualify", &reaches, &loose, &query_length,
                          &query_chars, &floor))
        return NULL;
    if (loose.len % (Py_ssize_t)(3 * sizeof(int32_t))) {
        PyBuffer_Release(&loose);
        PyErr_SetString(PyExc_ValueError, "loose must hold int32 triples");
        return NULL;
    }
    Py_ssize_t size = accumulate(self, reaches, &touched);
    if (size < 0) {
        PyBuffer_Release(&loose);
        return NULL;
    }
    const int32_t *chars = (const int32_t *)self->chars.buf;
    const int32_t *n_off = (const int32_t *)self->natural_offsets.buf;
    int32_t *points = self->scratch, *stamp = self->stamp;
    Py_ssize_t kept = 0;
    for (Py_ssize_t k = 0; k < size; k++) {
        int32_t v = touched[k];
        if (100.0 * (double)points[v] >= floor * (double)(query_chars + chars[v]) &&
                length_can_reach(query_length, n_off[v + 1] - n_off[v], floor))
            touched[kept++] = v;
        points[v] = 0;
        stamp[v] = 0;
    }
    /* the loose ones: stamped -1 once taken (every stamp is zero again at the end) */
    Indexes taken = {0};
    taken.items = touched;
    taken.size = kept;
    taken.room = size > kept ? size : kept;
    for (Py_ssize_t k = 0; k < kept; k++)
        stamp[touched[k]] = -1;
    const int32_t *triple = (const int32_t *)loose.buf;
    const int32_t *ids = (const int32_t *)self->token_ids.buf;
    Py_ssize_t id_count = self->token_ids.len / (Py_ssize_t)sizeof(int32_t);
    PyObject *out = NULL;
    for (Py_ssize_t t = 0; t < loose.len / (Py_ssize_t)(3 * sizeof(int32_t)); t++, triple += 3) {
        if (triple[0] < 0 || triple[0] > triple[1] || triple[1] > id_count) {
            PyErr_SetString(PyExc_ValueError, "a reach names ids out of range");
            goto done;
        }
        for (int32_t k = triple[0]; k < triple[1]; k++) {
            int32_t v = ids[k];
            if (stamp[v] == -1 || !length_can_reach(query_length, n_off[v + 1] - n_off[v], floor))
                continue;
            stamp[v] = -1;
            if (indexes_add(&taken, v) < 0)
                goto done;
        }
    }
    out = sorted_list(taken.items, taken.size);
done:
    for (Py_ssize_t k = 0; k < taken.size; k++)
        stamp[taken.items[k]] = 0;
    PyMem_Free(taken.items);
    PyBuffer_Release(&loose);
    return out;
}

/* reached_by_all(reaches) -> list[int]: the variants every reach (Vocabulary.reach bytes)
 * reaches. Ascending. A variant's scratch counts the reaches, in order, that reached it:
 * only those the first reach reached are ever touched. */
static PyObject *
Forms_reached_by_all(Forms *self, PyObject *reaches)
{
    if (self->scratch == NULL) {
        Py_ssize_t count = self->count ? self->count : 1;
        self->scratch = (int32_t *)PyMem_Calloc((size_t)count, sizeof(int32_t));
        self->stamp = (int32_t *)PyMem_Calloc((size_t)count, sizeof(int32_t));
        if (self->scratch == NULL || self->stamp == NULL)
            return PyErr_NoMemory();
    }
    PyObject *fast = PySequence_Fast(reaches, "reaches must be a sequence of bytes");
    if (fast == NULL)
        return NULL;
    int32_t *counted = self->scratch;
    const int32_t *ids = (const int32_t *)self->token_ids.buf;
    Py_ssize_t id_count = self->token_ids.len / (Py_ssize_t)sizeof(int32_t);
    Indexes touched = {0};
    PyObject *out = NULL;
    Py_ssize_t needed = PySequence_Fast_GET_SIZE(fast);
    for (Py_ssize_t r = 0; r < needed; r++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, r);
        if (!PyBytes_Check(item) || PyBytes_GET_SIZE(item) % (3 * sizeof(int32_t))) {
            PyErr_SetString(PyExc_TypeError, "a reach is the bytes of Vocabulary.reach");
            goto done;
        }
        const int32_t *triple = (const int32_t *)PyBytes_AS_STRING(item);
        Py_ssize_t triples = PyBytes_GET_SIZE(item) / (Py_ssize_t)(3 * sizeof(int32_t));
        for (Py_ssize_t t = 0; t < triples; t++, triple += 3) {
            if (triple[0] < 0 || triple[0] > triple[1] || triple[1] > id_count) {
                PyErr_SetString(PyExc_ValueError, "a reach names ids out of range");
                goto done;
            }
            for (int32_t k = triple[0]; k < triple[1]; k++) {
                int32_t v = ids[k];
                if (counted[v] != (int32_t)r)
                    continue;  /* missed by an earlier reach, or counted for this one */
                if (r == 0 && indexes_add(&touched, v) < 0)
                    goto done;
                counted[v] = (int32_t)(r + 1);
            }
        }
    }
    Py_ssize_t kept = 0;
    for (Py_ssize_t k = 0; k < touched.size; k++) {
        int32_t v = touched.items[k];
        int every = counted[v] == (int32_t)needed;
        counted[v] = 0;  /* before its place in the list is reused */
        if (every)
            touched.items[kept++] = v;
    }
    touched.size = 0;
    out = sorted_list(touched.items, kept);
done:
    for (Py_ssize_t k = 0; k < touched.size; k++)
        counted[touched.items[k]] = 0;
    PyMem_Free(touched.items);
    Py_DECREF(fast);
    return out;
}

typedef struct {
    double score;
    Py_ssize_t variant;
    int32_t entry;
} Ranked;

/* Whether (score, variant) ranks before (other score, other variant): higher, then first. */
static int
ranks_before(double score, Py_ssize_t variant, const Ranked *other)
{
    return score > other->score || (score == other->score && variant < other->variant);
}

/* Keeps the best variant of each entry among the `keep` best entries, best first. */
static void
rank_keep(Ranked *top, Py_ssize_t *size, Py_ssize_t keep, double score, Py_ssize_t variant,
          int32_t entry)
{
    Py_ssize_t at = -1;
    for (Py_ssize_t i = 0; i < *size; i++) {
        if (top[i].entry == entry) {
            at = i;
            break;
        }
    }
    if (at >= 0) {
        if (!ranks_before(score, variant, &top[at]))
            return;
    } else if (*size < keep) {
        at = (*size)++;
    } else if (ranks_before(score, variant, &top[*size - 1])) {
        at = *size - 1;
    } else {
        return;
    }
    top[at] = (Ranked){score, variant, entry};
    while (at > 0 && ranks_before(top[at].score, top[at].variant, &top[at - 1])) {
        Ranked swap = top[at - 1];
        top[at - 1] = top[at];
        top[at] = swap;
        at--;
    }
}

/* rank(tokens, query_sorted, query_natural, variants, floor, bound, keep)
 *     -> list[tuple[float, int]]
 *
 * The `keep` best entries among `variants` (a sequence of variant numbers; None: every
 * variant), each by its best variant: score = min(string score, coverage), the string score
 * being the better fuzz.ratio of the sorted and of the natural forms. Only scores of at least
 * max(floor, bound) count. Best first; on equal scores the first variant. Exact: a variant
 * is skipped only when its string score, an upper bound of its score, cannot reach the
 * `keep`-th best score found so far. */
static PyObject *
Forms_rank(Forms *self, PyObject *args)
{
    PyObject *tokens, *query_sorted, *query_natural, *variants;
    double floor, bound;
    Py_ssize_t keep;
    if (!PyArg_ParseTuple(args, "OUUOddn:rank", &tokens, &query_sorted, &query_natural,
                          &variants, &floor, &bound, &keep))
        return NULL;
    if (keep < 1) {
        PyErr_SetString(PyExc_ValueError, "keep must be at least 1");
        return NULL;
    }
    Span qs, qn;
    if (ascii_of(query_sorted, &qs, "query_sorted") < 0 ||
            ascii_of(query_natural, &qn, "query_natural") < 0)
        return NULL;
    Py_ssize_t nq;
    Span *query = spans_of(tokens, &nq);
    if (query == NULL)
        return NULL;
    PyObject *fast = NULL, *out = NULL;
    Pattern sorted_pattern = {0}, natural_pattern = {0};
    Span *listed = NULL;
    unsigned char *query_joined = NULL;
    Ranked *top = (Ranked *)PyMem_Malloc((size_t)keep * sizeof(Ranked));
    if (top == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (variants != Py_None) {
        fast = PySequence_Fast(variants, "variants must be a sequence of int or None");
        if (fast == NULL)
            goto done;
    }
    if (pattern_init(&sorted_pattern, qs.s, qs.n) < 0 ||
            pattern_init(&natural_pattern, qn.s, qn.n) < 0)
        goto done;
    query_joined = (unsigned char *)PyMem_Malloc((size_t)qn.n + 1);
    Py_ssize_t room = 16;
    listed = (Span *)PyMem_Malloc((size_t)room * sizeof(Span));
    if (query_joined == NULL || listed == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    joined(query, nq, query_joined);
    const unsigned char *natural = PyUnicode_1BYTE_DATA(self->natural);
    const unsigned char *sorted = PyUnicode_1BYTE_DATA(self->sorted);
    const int32_t *n_off = (const int32_t *)self->natural_offsets.buf;
    const int32_t *s_off = (const int32_t *)self->sorted_offsets.buf;
    const int32_t *owner = (const int32_t *)self->owner.buf;
    double least = floor > bound ? floor : bound;
    double cut = least;
    Py_ssize_t size = 0;
    Py_ssize_t total = fast ? PySequence_Fast_GET_SIZE(fast) : self->count;
    Py_ssize_t query_length = qn.n;
    for (Py_ssize_t i = 0; i < total; i++) {
        Py_ssize_t v = i;
        if (fast) {
            v = variant_at(fast, i, self->count);
            if (v < 0)
                goto done;
        }
        const unsigned char *form = natural + n_off[v];
        Py_ssize_t length = n_off[v + 1] - n_off[v];
        Py_ssize_t lengths = query_length + length;
        Py_ssize_t shorter = query_length < length ? query_length : length;
        /* fuzz.ratio is at most 200 * shorter / lengths (a margin for rounding) */
        if (lengths && 200.0 * (double)shorter / (double)lengths + 1e-9 < cut)
            continue;
        /* score = min(string score, coverage), the string score being the better ratio of
         * the sorted and the natural forms: the natural one is computed only when it can
         * change the score (the sorted one is below the cut, or below the coverage) */
        double string = ratio_of(&sorted_pattern, sorted + s_off[v], s_off[v + 1] - s_off[v]);
        int natural_done = 0;
        if (string < cut) {
            double other = ratio_of(&natural_pattern, form, length);
            if (other < cut)
                continue;
            string = other;
            natural_done = 1;
        }
        if (length + 1 > room) {  /* a token per character at most, and one more */
            room = length + 1;
            Span *grown = (Span *)PyMem_Realloc(listed, (size_t)room * sizeof(Span));
            if (grown == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            listed = grown;
        }
        Py_ssize_t nl = split_spaces(form, length, listed);
        double covered = coverage_of(query, nq, listed, nl, query_joined, NULL);
        if (covered < 0)
            goto done;
        if (covered < cut)
            continue;
        if (!natural_done && covered > string) {
            double other = ratio_of(&natural_pattern, form, length);
            if (other > string)
                string = other;
        }
        double score = covered < string ? covered : string;
        if (score < cut)
            continue;
        rank_keep(top, &size, keep, score, v, owner[v]);
        if (size == keep && top[keep - 1].score > least)
            cut = top[keep - 1].score;
    }
    out = PyList_New(size);
    if (out == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < size; i++) {
        PyObject *pair = Py_BuildValue("(dn)", top[i].score, top[i].variant);
        if (pair == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, i, pair);
    }
done:
    pattern_free(&sorted_pattern);
    pattern_free(&natural_pattern);
    PyMem_Free(listed);
    PyMem_Free(query_joined);
    PyMem_Free(top);
    PyMem_Free(query);
    Py_XDECREF(fast);
    return out;
}

static PyMethodDef Forms_methods[] = {
    {"qualify", (PyCFunction)Forms_qualify, METH_VARARGS,
     "qualify(reaches, loose, query_length, query_chars, floor) -> list[int]: the variants "
     "that could score at least floor, ascending."},
    {"reached_by_all", (PyCFunction)Forms_reached_by_all, METH_O,
     "reached_by_all(reaches) -> list[int]: the variants every reach reaches, ascending."},
    {"rank", (PyCFunction)Forms_rank, METH_VARARGS,
     "rank(tokens, query_sorted, query_natural, variants, floor, bound, keep) -> "
     "list[tuple[float, int]]: the best entries' best (score, variant), best first."},
    {NULL, NULL, 0, NULL},
};

static Py_ssize_t
Forms_len(Forms *self)
{
    return self->count;
}

static PySequenceMethods Forms_as_sequence = {
    .sq_length = (lenfunc)Forms_len,
};

static PyTypeObject FormsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "engine.screening._kernel.Forms",
    .tp_doc = "The variant forms of a screening index, read in place: "
              "Forms(natural, natural_offsets, sorted, sorted_offsets, owner, chars).",
    .tp_basicsize = sizeof(Forms),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Forms_new,
    .tp_dealloc = (destructor)Forms_dealloc,
    .tp_methods = Forms_methods,
    .tp_as_sequence = &Forms_as_sequence,
};

/* ------------------------------------------------------------------------------------------
 * Vocabulary: the listed strings compatible with a query token
 * ---------------------------------------------------------------------------------------- */

static uint32_t crc_table[256];

static void
crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

/* zlib's CRC-32 of the concatenation of two byte strings (as engine.screening.flatindex
 * files its keys). */
static uint32_t
crc32_of(const unsigned char *a, Py_ssize_t na, const unsigned char *b, Py_ssize_t nb)
{
    uint32_t c = 0xFFFFFFFFu;
    for (Py_ssize_t i = 0; i < na; i++)
        c = crc_table[(c ^ a[i]) & 0xFF] ^ (c >> 8);
    for (Py_ssize_t i = 0; i < nb; i++)
        c = crc_table[(c ^ b[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* The pigeonhole pieces of a vocabulary string of `length` letters: one more than the edits
 * a pair with it may have, so that one piece survives any allowed edits; filed under the key
 * "<length>.<piece>." + the piece's letters. The index builds the table with these
 * (`pieces`, `piece_key` below), and `similar` looks it up with them. */
#define PIECE_HEAD 48

static int
piece_count(Py_ssize_t length)
{
    return allowed_for(length) + 1;
}

static void
piece_span(Py_ssize_t length, int piece, Py_ssize_t *start, Py_ssize_t *size)
{
    int count = piece_count(length);
    *start = length * piece / count;
    *size = length * (piece + 1) / count - *start;
}

static int
piece_head(char *out, Py_ssize_t length, int piece)
{
    return snprintf(out, PIECE_HEAD, "%zd.%d.", length, piece);
}

typedef struct {
    PyObject_HEAD
    PyObject *words;            /* str: the sorted vocabulary, one string */
    Py_buffer word_offsets;     /* int32[words + 1] */
    Py_ssize_t word_count;
    PyObject *keys;             /* str: the pigeonhole pieces' keys ("8.1.abc"), one string */
    Py_buffer key_offsets;      /* int32[keys + 1] */
    Py_buffer slots;            /* int32[power of two]: open addressing by CRC-32, -1 empty */
    PyObject *values;           /* str: per key, its vocabulary strings joined by NUL */
    Py_buffer value_offsets;    /* int32[keys + 1] */
    Py_buffer token_ranges;     /* int32[2 * words]: the variants with the word as a token */
    Py_buffer joined_ranges;    /* int32[2 * words]: the variants whose tokens joined are it */
    Py_ssize_t joined_base;     /* where joined_ranges start among the ids */
    Py_ssize_t key_count;
    Py_ssize_t slot_count;
} Vocabulary;

static void
Vocabulary_dealloc(Vocabulary *self)
{
    Py_XDECREF(self->words);
    Py_XDECREF(self->keys);
    Py_XDECREF(self->values);
    Py_buffer *views[] = {&self->word_offsets, &self->key_offsets, &self->slots,
                          &self->value_offsets, &self->token_ranges, &self->joined_ranges};
    for (size_t i = 0; i < sizeof views / sizeof *views; i++)
        if (views[i]->obj)
            PyBuffer_Release(views[i]);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
offsets_within(const Py_buffer *view, Py_ssize_t count, PyObject *text)
{
    const int32_t *at = (const int32_t *)view->buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (at[i] < 0 || at[i] > at[i + 1]) {
            PyErr_SetString(PyExc_ValueError, "offsets must ascend from 0");
            return -1;
        }
    }
    if (at[count] > PyUnicode_GET_LENGTH(text)) {
        PyErr_SetString(PyExc_ValueError, "offsets reach past their text");
        return -1;
    }
    return 0;
}

static PyObject *
Vocabulary_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"words", "word_offsets", "keys", "key_offsets", "slots", "values",
                            "value_offsets", "token_ranges", "joined_ranges", "joined_base",
                            "ids", NULL};
    PyObject *words, *word_offsets, *keys, *key_offsets, *slots, *values, *value_offsets;
    PyObject *token_ranges, *joined_ranges;
    Py_ssize_t joined_base, ids;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "UOUOOUOOOnn:Vocabulary", names, &words,
                                     &word_offsets, &keys, &key_offsets, &slots, &values,
                                     &value_offsets, &token_ranges, &joined_ranges,
                                     &joined_base, &ids))
        return NULL;
    if (!PyUnicode_IS_ASCII(words) || !PyUnicode_IS_ASCII(keys) || !PyUnicode_IS_ASCII(values)) {
        PyErr_SetString(PyExc_ValueError, "vocabulary strings must be ASCII");
        return NULL;
    }
    Vocabulary *self = (Vocabulary *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    Py_INCREF(words);
    self->words = words;
    Py_INCREF(keys);
    self->keys = keys;
    Py_INCREF(values);
    self->values = values;
    Py_ssize_t word_items = int32_count(word_offsets), key_items = int32_count(key_offsets);
    self->slot_count = int32_count(slots);
    if (word_items < 1 || key_items < 1 || self->slot_count < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "offsets hold at least one number");
        goto fail;
    }
    self->word_count = word_items - 1;
    self->key_count = key_items - 1;
    if (self->slot_count & (self->slot_count - 1) || self->slot_count <= self->key_count) {
        PyErr_SetString(PyExc_ValueError, "slots must be a power of two, more than the keys");
        goto fail;
    }
    if (int32_buffer(word_offsets, &self->word_offsets, word_items, "word_offsets") < 0 ||
            int32_buffer(key_offsets, &self->key_offsets, key_items, "key_offsets") < 0 ||
            int32_buffer(value_offsets, &self->value_offsets, key_items, "value_offsets") < 0 ||
            int32_buffer(slots, &self->slots, self->slot_count, "slots") < 0 ||
            int32_buffer(token_ranges, &self->token_ranges, 2 * self->word_count,
                         "token_ranges") < 0 ||
            int32_buffer(joined_ranges, &self->joined_ranges, 2 * self->word_count,
                         "joined_ranges") < 0)
        goto fail;
    self->joined_base = joined_base;
    const int32_t *range = (const int32_t *)self->token_ranges.buf;
    const int32_t *joined = (const int32_t *)self->joined_ranges.buf;
    for (Py_ssize_t i = 0; i < self->word_count; i++) {
        if (range[2 * i] < 0 || range[2 * i] > range[2 * i + 1] || range[2 * i + 1] > joined_base
                || joined[2 * i] < 0 || joined[2 * i] > joined[2 * i + 1]
                || joined_base + joined[2 * i + 1] > ids) {
            PyErr_SetString(PyExc_ValueError, "a range reaches past the ids");
            goto fail;
        }
    }
    if (offsets_within(&self->word_offsets, self->word_count, words) < 0 ||
            offsets_within(&self->key_offsets, self->key_count, keys) < 0 ||
            offsets_within(&self->value_offsets, self->key_count, values) < 0)
        goto fail;
    const int32_t *slot = (const int32_t *)self->slots.buf;
    for (Py_ssize_t i = 0; i < self->slot_count; i++) {
        if (slot[i] < -1 || slot[i] >= self->key_count) {
            PyErr_SetString(PyExc_ValueError, "a slot names no key");
            goto fail;
        }
    }
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

/* The index of the first vocabulary string not below (s, n) in byte order. */
static Py_ssize_t
lower_bound(const Vocabulary *self, const unsigned char *s, Py_ssize_t n)
{
    const unsigned char *text = PyUnicode_1BYTE_DATA(self->words);
    const int32_t *at = (const int32_t *)self->word_offsets.buf;
    Py_ssize_t low = 0, high = self->word_count;
    while (low < high) {
        Py_ssize_t middle = low + (high - low) / 2;
        Py_ssize_t length = at[middle + 1] - at[middle];
        Py_ssize_t common = length < n ? length : n;
        int order = memcmp(text + at[middle], s, (size_t)common);
        if (order < 0 || (order == 0 && length < n))
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

static int
word_is(const Vocabulary *self, Py_ssize_t i, const unsigned char *s, Py_ssize_t n)
{
    const int32_t *at = (const int32_t *)self->word_offsets.buf;
    return i < self->word_count && at[i + 1] - at[i] == n &&
           memcmp(PyUnicode_1BYTE_DATA(self->words) + at[i], s, (size_t)n) == 0;
}

/* The value of the piece key head + s[0:n], or NULL (length in *size). */
static const unsigned char *
piece_lookup(const Vocabulary *self, const unsigned char *head, Py_ssize_t nh,
             const unsigned char *s, Py_ssize_t n, Py_ssize_t *size)
{
    const unsigned char *keys = PyUnicode_1BYTE_DATA(self->keys);
    const int32_t *key_at = (const int32_t *)self->key_offsets.buf;
    const int32_t *slots = (const int32_t *)self->slots.buf;
    Py_ssize_t mask = self->slot_count - 1;
    Py_ssize_t slot = (Py_ssize_t)(crc32_of(head, nh, s, n) & (uint32_t)mask);
    for (Py_ssize_t probes = 0; probes <= mask; probes++) {
        int32_t number = slots[slot];
        if (number < 0)
            return NULL;
        const unsigned char *key = keys + key_at[number];
        if (key_at[number + 1] - key_at[number] == nh + n && memcmp(key, head, (size_t)nh) == 0
                && memcmp(key + nh, s, (size_t)n) == 0) {
            const int32_t *value_at = (const int32_t *)self->value_offsets.buf;
            *size = value_at[number + 1] - value_at[number];
            return PyUnicode_1BYTE_DATA(self->values) + value_at[number];
        }
        slot = (slot + 1) & mask;
    }
    return NULL;
}

/* The vocabulary strings compatible with s[0:size] (see `Vocabulary_similar`): their
 * indexes, ascending, each once, in `out` (to free); -1 with an exception set. */
static int
similar_indexes(const Vocabulary *self, const unsigned char *s, Py_ssize_t size, Indexes *out)
{
    Py_ssize_t i = lower_bound(self, s, size);
    if (word_is(self, i, s, size) && indexes_add(out, i) < 0)
        return -1;
    if (size < MIN_FUZZY_TOKEN)
        return 0;
    uint64_t masks[256] = {0};  /* the positions of each byte in s (when it fits a word) */
    uint64_t query_kinds = 0;   /* the kinds of letters in s, one bit each (some share one) */
    for (Py_ssize_t at = 0; at < size; at++) {
        if (size <= 64)
            masks[s[at]] |= (uint64_t)1 << at;
        query_kinds |= (uint64_t)1 << (s[at] & 63);
    }
    for (Py_ssize_t cut = MIN_FUZZY_TOKEN; cut < size; cut++) {
        Py_ssize_t at = lower_bound(self, s, cut);
        if (word_is(self, at, s, cut) && indexes_add(out, at) < 0)
            return -1;
    }
    const unsigned char *words = PyUnicode_1BYTE_DATA(self->words);
    const int32_t *word_at = (const int32_t *)self->word_offsets.buf;
    for (; i < self->word_count; i++) {
        Py_ssize_t length = word_at[i + 1] - word_at[i];
        if (length < size || memcmp(words + word_at[i], s, (size_t)size) != 0)
            break;
        if (indexes_add(out, i) < 0)
            return -1;
    }
    for (Py_ssize_t other = size - 2 > MIN_FUZZY_TOKEN ? size - 2 : MIN_FUZZY_TOKEN;
            other < size + 3; other++) {
        int allowed = allowed_for(size < other ? size : other);
        Py_ssize_t grown = size - other;
        Py_ssize_t net = grown < 0 ? -grown : grown;
        if (net > allowed)
            continue;
        /* A piece moves by the insertions less the deletions before it; with `allowed`
         * edits of which the net is `grown`, that is between these two shifts. */
        Py_ssize_t slack = (allowed - net) / 2;
        Py_ssize_t low = (grown < 0 ? grown : 0) - slack, high = (grown > 0 ? grown : 0) + slack;
        int count = piece_count(other);
        for (int piece = 0; piece < count; piece++) {
            Py_ssize_t start, length;
            piece_span(other, piece, &start, &length);
            char head[PIECE_HEAD];
            int nh = piece_head(head, other, piece);
            Py_ssize_t first = start + low > 0 ? start + low : 0;
            Py_ssize_t last = size - length < start + high ? size - length : start + high;
            for (Py_ssize_t at = first; at <= last; at++) {
                Py_ssize_t found_size;
                const unsigned char *found = piece_lookup(
                    self, (const unsigned char *)head, nh, s + at, length, &found_size);
                if (found == NULL)
                    continue;
                /* the strings filed under a piece key all have `other` letters: they are
                 * read at that stride (NUL between them) */
                if ((found_size + 1) % (other + 1) != 0) {
                    PyErr_SetString(PyExc_ValueError, "a pigeonhole piece holds a string of "
                                    "another length than its key says");
                    return -1;
                }
                for (Py_ssize_t begin = 0; begin < found_size; begin += other + 1) {
                    const unsigned char *near = found + begin;
                    const Py_ssize_t near_size = other;
                    /* Each kind of letter one string has and the other lacks takes an
                     * edit of its own: a bound that rules out most of a piece's strings for
                     * a few operations, before the distance. */
                    uint64_t kinds = 0;
                    for (Py_ssize_t c = 0; c < near_size; c++)
                        kinds |= (uint64_t)1 << (near[c] & 63);
                    if (__builtin_popcountll(kinds & ~query_kinds) > allowed ||
                            __builtin_popcountll(query_kinds & ~kinds) > allowed)
                        continue;
                    int d;
                    if (size <= 64) {
                        Py_ssize_t gap = near_size - size;
                        d = gap > allowed || -gap > allowed ? allowed + 1
                            : (int)osa_pattern(masks, size, near, near_size);
                    } else {
                        d = osa_within(s, size, near, near_size, allowed);
                        if (d == -2) {
                            PyErr_NoMemory();
                            return -1;
                        }
                    }
                    if (d > allowed)
                        continue;
                    Py_ssize_t index = lower_bound(self, near, near_size);
                    if (word_is(self, index, near, near_size) && indexes_add(out, index) < 0)
                        return -1;
                }
            }
        }
    }
    qsort(out->items, (size_t)out->size, sizeof(int32_t), int32_order);
    Py_ssize_t kept = 0;
    for (Py_ssize_t k = 0; k < out->size; k++)
        if (kept == 0 || out->items[kept - 1] != out->items[k])
            out->items[kept++] = out->items[k];
    out->size = kept;
    return 0;
}

/* similar(text) -> frozenset[str]: the vocabulary strings compatible with `text` (equal; a
 * prefix of it or it a prefix of them, of MIN_FUZZY_TOKEN letters or more; or within the
 * allowed edits), found through the sorted vocabulary and the pigeonhole pieces
 * (engine.screening.index.ScreeningIndex: each string of n letters cut into k + 1 pieces, k
 * the edits allowed for n letters, pieces also filed with a swap across their left edge). */
static PyObject *
Vocabulary_similar(Vocabulary *self, PyObject *arg)
{
    Span text;
    Indexes found = {0};
    if (ascii_of(arg, &text, "text") < 0)
        return NULL;
    PyObject *out = NULL, *set = NULL;
    if (similar_indexes(self, text.s, text.n, &found) < 0)
        goto done;
    set = PySet_New(NULL);
    if (set == NULL)
        goto done;
    const unsigned char *words = PyUnicode_1BYTE_DATA(self->words);
    const int32_t *word_at = (const int32_t *)self->word_offsets.buf;
    for (Py_ssize_t k = 0; k < found.size; k++) {
        int32_t i = found.items[k];
        PyObject *string = PyUnicode_FromStringAndSize((const char *)words + word_at[i],
                                                       word_at[i + 1] - word_at[i]);
        if (string == NULL || PySet_Add(set, string) < 0) {
            Py_XDECREF(string);
            goto done;
        }
        Py_DECREF(string);
    }
    out = PyFrozenSet_New(set);
done:
    Py_XDECREF(set);
    PyMem_Free(found.items);
    return out;
}

typedef struct {
    int32_t start;
    int32_t end;
    int32_t weight;
} Range;

static int
range_order(const void *x, const void *y)
{
    const Range *a = (const Range *)x, *b = (const Range *)y;
    if (a->weight != b->weight)
        return b->weight - a->weight;
    return (a->start > b->start) - (a->start < b->start);
}

/* reach(token) -> bytes: what `token` reaches, packed for Forms.qualify: an int32 triple
 * (start, end, weight) per compatible listed token, heaviest first, `start:end` being its
 * variants among the index's token ids and the weight the most characters a pair of the two
 * covers (both lengths). */
static PyObject *
Vocabulary_reach(Vocabulary *self, PyObject *arg)
{
    Span text;
    Indexes found = {0};
    if (ascii_of(arg, &text, "token") < 0)
        return NULL;
    PyObject *out = NULL;
    Range *ranges = NULL;
    if (similar_indexes(self, text.s, text.n, &found) < 0)
        goto done;
    ranges = (Range *)PyMem_Malloc((size_t)(found.size ? found.size : 1) * sizeof(Range));
    if (ranges == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const int32_t *word_at = (const int32_t *)self->word_offsets.buf;
    const int32_t *span = (const int32_t *)self->token_ranges.buf;
    Py_ssize_t count = 0;
    for (Py_ssize_t k = 0; k < found.size; k++) {
        int32_t i = found.items[k];
        if (span[2 * i] == span[2 * i + 1])
            continue;  /* a string of tokens written together, no token itself */
        ranges[count++] = (Range){span[2 * i], span[2 * i + 1],
                                  (int32_t)(text.n + word_at[i + 1] - word_at[i])};
    }
    qsort(ranges, (size_t)count, sizeof(Range), range_order);
    out = PyBytes_FromStringAndSize((const char *)ranges, count * (Py_ssize_t)sizeof(Range));
done:
    PyMem_Free(ranges);
    PyMem_Free(found.items);
    return out;
}

/* loose(text, tokens_too) -> bytes: for `text`, a query's tokens written together, the
 * variants whose tokens written together are compatible with it, and with `tokens_too` those
 * with a token compatible with it; packed as Vocabulary.reach packs (weights 0, unused), for
 * the `loose` argument of Forms.qualify. */
static PyObject *
Vocabulary_loose(Vocabulary *self, PyObject *args)
{
    PyObject *arg;
    int tokens_too;
    Span text;
    Indexes found = {0};
    if (!PyArg_ParseTuple(args, "Up:loose", &arg, &tokens_too) ||
            ascii_of(arg, &text, "text") < 0)
        return NULL;
    PyObject *out = NULL;
    Range *ranges = NULL;
    if (similar_indexes(self, text.s, text.n, &found) < 0)
        goto done;
    ranges = (Range *)PyMem_Malloc((size_t)(2 * found.size + 1) * sizeof(Range));
    if (ranges == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const int32_t *token = (const int32_t *)self->token_ranges.buf;
    const int32_t *joined = (const int32_t *)self->joined_ranges.buf;
    Py_ssize_t count = 0;
    for (Py_ssize_t k = 0; k < found.size; k++) {
        int32_t i = found.items[k];
        if (joined[2 * i] < joined[2 * i + 1])
            ranges[count++] = (Range){(int32_t)(self->joined_base + joined[2 * i]),
                                      (int32_t)(self->joined_base + joined[2 * i + 1]), 0};
        if (tokens_too && token[2 * i] < token[2 * i + 1])
            ranges[count++] = (Range){token[2 * i], token[2 * i + 1], 0};
    }
    out = PyBytes_FromStringAndSize((const char *)ranges, count * (Py_ssize_t)sizeof(Range));
done:
    PyMem_Free(ranges);
    PyMem_Free(found.items);
    return out;
}

static PyMethodDef Vocabulary_methods[] = {
    {"similar", (PyCFunction)Vocabulary_similar, METH_O,
     "similar(text) -> frozenset[str]: the vocabulary strings compatible with text."},
    {"loose", (PyCFunction)Vocabulary_loose, METH_VARARGS,
     "loose(text, tokens_too) -> bytes: the variants a query's tokens written together reach, "
     "packed for Forms.qualify."},
    {"reach", (PyCFunction)Vocabulary_reach, METH_O,
     "reach(token) -> bytes: the listed tokens compatible with token, packed for "
     "Forms.qualify."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject VocabularyType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "engine.screening._kernel.Vocabulary",
    .tp_doc = "The listed strings of a screening index and their pigeonhole pieces, read in "
              "place: Vocabulary(words, word_offsets, keys, key_offsets, slots, values, "
              "value_offsets, token_ranges, joined_ranges, joined_base, ids): the ranges, int32 "
              "(start, end) per word, are its variants among the ids of Forms, those of "
              "joined_ranges from joined_base on.",
    .tp_basicsize = sizeof(Vocabulary),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Vocabulary_new,
    .tp_dealloc = (destructor)Vocabulary_dealloc,
    .tp_methods = Vocabulary_methods,
};

static PyObject *
k_pieces(PyObject *self, PyObject *arg)
{
    Py_ssize_t length = PyLong_AsSsize_t(arg);
    if (length == -1 && PyErr_Occurred())
        return NULL;
    if (length < 0) {
        PyErr_SetString(PyExc_ValueError, "a length is not negative");
        return NULL;
    }
    int count = piece_count(length);
    PyObject *out = PyTuple_New(count);
    if (out == NULL)
        return NULL;
    for (int piece = 0; piece < count; piece++) {
        Py_ssize_t start, size;
        piece_span(length, piece, &start, &size);
        PyObject *span = Py_BuildValue("(nn)", start, size);
        if (span == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, piece, span);
    }
    return out;
}

static PyObject *
k_piece_key(PyObject *self, PyObject *args)
{
    Py_ssize_t length;
    int piece;
    PyObject *letters;
    if (!PyArg_ParseTuple(args, "niU:piece_key", &length, &piece, &letters))
        return NULL;
    char head[PIECE_HEAD];
    piece_head(head, length, piece);
    return PyUnicode_FromFormat("%s%U", head, letters);
}

static PyMethodDef kernel_methods[] = {
    {"pieces", (PyCFunction)k_pieces, METH_O,
     "pieces(length) -> tuple[tuple[int, int], ...]: (start, size) of the pigeonhole pieces "
     "of a vocabulary string of that length."},
    {"piece_key", (PyCFunction)k_piece_key, METH_VARARGS,
     "piece_key(length, piece, letters) -> str: the key a piece is filed under."},
    {"allowed_edits", (PyCFunction)k_allowed_edits, METH_O,
     "allowed_edits(shorter) -> int: edits two tokens may differ by, by the shorter length."},
    {"pair_distance", (PyCFunction)(void (*)(void))k_pair_distance, METH_FASTCALL,
     "pair_distance(a, b) -> int: edits between two tokens that may spell one word, else -1."},
    {"ratio", (PyCFunction)(void (*)(void))k_ratio, METH_FASTCALL,
     "ratio(a, b) -> float: rapidfuzz's fuzz.ratio of two ASCII strings."},
    {"pairs", (PyCFunction)(void (*)(void))k_pairs, METH_FASTCALL,
     "pairs(a, b) -> list[tuple[str, str]]: the token pairs coverage(a, b) counts."},
    {"coverage", (PyCFunction)(void (*)(void))k_coverage, METH_FASTCALL,
     "coverage(a, b) -> float: share (0-100) of both token lists' characters in pairs of "
     "compatible tokens."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef kernel_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "engine.screening._kernel",
    .m_doc = "The inner loops of name screening, in C (see engine/screening/_kernel.c).",
    .m_size = -1,
    .m_methods = kernel_methods,
};

PyMODINIT_FUNC
PyInit__kernel(void)
{
    crc_init();
    if (PyType_Ready(&FormsType) < 0 || PyType_Ready(&VocabularyType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&kernel_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&FormsType);
    Py_INCREF(&VocabularyType);
    if (PyModule_AddObject(module, "Forms", (PyObject *)&FormsType) < 0 ||
            PyModule_AddObject(module, "Vocabulary", (PyObject *)&VocabularyType) < 0 ||
            PyModule_AddIntConstant(module, "MIN_FUZZY_TOKEN", MIN_FUZZY_TOKEN) < 0 ||
            PyModule_AddIntConstant(module, "INCOMPATIBLE", INCOMPATIBLE) < 0) {
        Py_DECREF(&FormsType);
        Py_DECREF(&VocabularyType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
