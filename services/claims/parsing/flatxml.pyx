# cython: language_level=3, boundscheck=False, wraparound=False
"""The flat records of a parsed claim table, read straight from libxml2's tree.

A QĐ 130/4210 table is flat: a record element whose children are fields holding text. Reading it through
lxml's Python API makes one proxy object per field (``{child.tag: child.text for child in el}``), which was
the largest single cost of the intake's decoding. These functions walk the same tree lxml parsed, through
lxml's public C API (``lxml.includes.etreepublic``), and build the same dicts without the proxies.

What is read is exactly what lxml's API gives (``tests/unit/claims/test_flat_reader.py`` compares them):
- a field's name is its local name (libxml2 keeps the namespace apart), so ``ns:MA_LK`` and ``MA_LK`` are one;
- its text is ``el.text``: the text and CDATA nodes before its first child that is neither, ``''`` when they
  are all empty, ``None`` when there are none;
- comments, processing instructions and entity references among the fields are not fields, and are skipped;
- a name written twice keeps its last value.
Field names come back interned, each decoded once per thread (``_name``), so a dict of fields is looked up by
identity.

Nothing is decided here: which fields a table has, how each is typed and what is wrong with it stay in
tables.py and validation/.
"""

from sys import intern

from cpython.ref cimport PyObject, Py_INCREF, Py_XDECREF
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport strcmp, strlen
from lxml.includes cimport etreepublic as cetree
from lxml.includes cimport tree

cetree.import_lxml__etree()


cdef inline str _utf8(const tree.xmlChar* s):
    cdef const char* p = <const char*>s
    return PyUnicode_DecodeUTF8(p, strlen(p), NULL)


cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8(object s)

# The names of the elements by the address libxml2 keeps each at. A parser keeps its names in its dictionary,
# which lxml shares between the documents one thread parses: a field's name is then decoded once, not once per
# record. A slot answers only when its name is still the same text at that address (a dictionary freed and its
# memory reused is decoded again), so nothing depends on lxml keeping it. The slots are guarded by the GIL.
cdef enum:
    _SLOTS = 1024
cdef const char* _name_at[_SLOTS]
cdef PyObject* _name_str[_SLOTS]


cdef inline object _name(const tree.xmlChar* s):
    cdef const char* p = <const char*>s
    cdef size_t slot = (<size_t>p >> 3) % _SLOTS
    cdef PyObject* held = _name_str[slot]
    if _name_at[slot] == p and held is not NULL and strcmp(PyUnicode_AsUTF8(<object>held), p) == 0:
        return <object>held
    cdef object name = intern(PyUnicode_DecodeUTF8(p, strlen(p), NULL))
    # Read the slot again: making the string may have run other code (the collector, a finalizer) that filled
    # it. From here to the stores nothing can.
    held = _name_str[slot]
    Py_INCREF(name)  # the slot's own reference
    _name_str[slot] = <PyObject*>name
    _name_at[slot] = p
    Py_XDECREF(held)
    return name


cdef inline tree.xmlNode* _text_node(tree.xmlNode* c):
    """``c`` or the first text/CDATA node after it, skipping XInclude markers; NULL at anything else."""
    while c is not NULL:
        if c.type == tree.XML_TEXT_NODE or c.type == tree.XML_CDATA_SECTION_NODE:
            return c
        if c.type != tree.XML_XINCLUDE_START and c.type != tree.XML_XINCLUDE_END:
            return NULL
        c = c.next
    return NULL


cdef object _text(tree.xmlNode* el):
    cdef tree.xmlNode* first = _text_node(el.children)
    cdef tree.xmlNode* c = first
    cdef tree.xmlNode* found = NULL
    cdef list parts
    if first is NULL:
        return None
    while c is not NULL:
        if c.content is not NULL and c.content[0] != 0:
            if found is not NULL:  # two non-empty pieces (text around a CDATA section, say): join them all
                parts = []
                c = first
                while c is not NULL:
                    if c.content is not NULL:
                        parts.append(_utf8(c.content))
                    c = _text_node(c.next)
                return "".join(parts)
            found = c
        c = _text_node(c.next)
    return "" if found is NULL else _utf8(found.content)


cdef dict _fields(tree.xmlNode* el):
    cdef dict out = {}
    cdef tree.xmlNode* c = el.children
    while c is not NULL:
        if c.type == tree.XML_ELEMENT_NODE:
            out[_name(c.name)] = _text(c)
        c = c.next
    return out


def fields(cetree._Element el not None):
    """Field name -> text of each child element of ``el``."""
    return _fields(el._c_node)


def rows(cetree._Element root not None, str tag not None):
    """``fields`` of every ``tag`` element directly under ``root`` or one level below it (the standard nests
    lines as root / DSACH_… / tag; some exports put them under the root), in document order."""
    cdef bytes name = tag.encode("utf-8")
    cdef const char* want = name
    cdef list out = []
    cdef tree.xmlNode* c = root._c_node.children
    cdef tree.xmlNode* g
    while c is not NULL:
        if c.type == tree.XML_ELEMENT_NODE:
            if strcmp(<const char*>c.name, want) == 0:
                out.append(_fields(c))
            else:
                g = c.children
                while g is not NULL:
                    if g.type == tree.XML_ELEMENT_NODE and strcmp(<const char*>g.name, want) == 0:
                        out.append(_fields(g))
                    g = g.next
        c = c.next
    return out
