"""The pure core: what a read means. Values in, values out: no I/O, no settings.

``normalize`` puts a posting in canonical form, ``diff`` compares two (the only
DeepDiff user), ``suspect`` doubts a read that lost most of a posting, ``boards``
judges a board's list against the members it follows, ``verdicts`` turns one fetch's outcome (a page read, a 304, a 404, a paused host, an
error) into the ``CheckResult`` to store; ``schedule`` says when to check next.
The callers (``monitor.pipeline``) fetch and write; what they pass in here are plain
values, never a configuration object or a connection.
"""
