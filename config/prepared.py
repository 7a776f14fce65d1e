"""Querysets built once per process and run again with other values: for the hottest pages.

Building a queryset that carries the visibility rules (posts.models.post_visibility: Q trees
and Exists subqueries) costs Django ten times what PostgreSQL takes to run it: about 2 ms of
CPU for the feed's query against 0.2 ms in the database. Yet its SQL depends only on its
shape: the viewer's id, a cursor or the ids of a page's posts are parameters. ``run`` builds
the queryset once per shape with stand-in values, keeps its compiled SQL, and on every later
call runs that SQL with the real values put where the stand-ins were, building model instances
as Django's ModelIterable does (select_related and annotations included).

The caller names the shape in ``key``: anything that changes the SQL other than the values
passed (a viewer's staff flag, how many ids a list holds) must be part of it; for the viewer,
``members.models.viewer_shape`` gives what the visibility rules read besides the id. A stand-in
that does not come back as a parameter (Django inlined it, or the build ignored it) is an
error, not a silent wrong answer.
"""

import copy
import hashlib
import itertools
import re
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from threading import Lock
from typing import Any

from django.db import connections, models
from django.db.models.query import get_related_populators
from django.db.models.sql.compiler import SQLCompiler

_INT_STAND_IN = -(10**15)  # ids are positive: no real value is ever one of these
_TIME_STAND_IN = datetime(1111, 1, 1, tzinfo=UTC)
_STR_STAND_IN = "prepared-stand-in-"


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    slots: tuple[int | None, ...]  # per parameter: the index of the value it stands in for
    compiler: SQLCompiler
    db: str
    name: str  # of the server-side prepared statement (PostgreSQL)
    statement: str | None  # the SQL with $1, $2... for PREPARE, or None (another database)


_compiled: dict[Hashable, _Compiled] = {}
_lock = Lock()
# The statements PREPAREd on each database connection (a connection is one thread's).
_prepared_on: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()
_PLACEHOLDER = re.compile(r"%%|%s")


def run(key: Hashable, build: Callable[..., models.QuerySet], *values: Any) -> list:
    """``build(*values)`` evaluated, with ``build`` called once per ``key`` in this process.

    ``values`` are ints, strings, datetimes or model instances (their pk is the parameter; ``build``
    gets a copy with a stand-in pk, so a viewer's other attributes are real). An anonymous
    viewer is passed to ``build`` as it is: it has no id to be a parameter. Values reach the
    SQL as they are, since ``build`` only ever sees the stand-ins: fold a username (or make any
    other change the query would make) before passing it.
    """
    compiled = _compiled.get(key)
    if compiled is None:
        compiled = _compile(build, values)
        with _lock:
            _compiled.setdefault(key, compiled)
    plain = [getattr(value, "pk", value) for value in values]
    params = tuple(
        param if slot is None else plain[slot]
        for param, slot in zip(compiled.params, compiled.slots, strict=True)
    )
    return _instances(compiled, params)


def _compile(build: Callable[..., models.QuerySet], values: tuple) -> _Compiled:
    numbers = itertools.count()
    stand_ins, params_for = [], {}
    for index, value in enumerate(values):
        if isinstance(value, datetime):
            stand_in = _TIME_STAND_IN + timedelta(seconds=next(numbers))
            param = stand_in
        elif isinstance(value, models.Model):
            param = _INT_STAND_IN - next(numbers)
            stand_in = copy.copy(value)
            stand_in.pk = param
        elif isinstance(value, int) and not isinstance(value, bool):
            stand_in = param = _INT_STAND_IN - next(numbers)
        elif isinstance(value, str):
            stand_in = param = f"{_STR_STAND_IN}{next(numbers)}"
        elif getattr(value, "is_anonymous", False):
            stand_ins.append(value)
            continue
        else:
            raise TypeError(f"no stand-in for {type(value).__name__} {value!r}")
        stand_ins.append(stand_in)
        params_for[param] = index
    queryset = build(*stand_ins)
    if queryset._prefetch_related_lookups:
        raise ValueError("prefetch_related is not run here: load related rows separately")
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    slots = tuple(params_for.get(param) if _hashable(param) else None for param in params)
    missing = set(params_for.values()) - set(slots)
    leaked = [param for param in params_for if str(param) in sql]
    if missing or leaked:
        raise ValueError(f"stand-ins not passed as parameters: {missing or leaked} in {sql}")
    name = f"q_{hashlib.blake2b(sql.encode(), digest_size=12).hexdigest()}"
    statement = None
    if connections[queryset.db].vendor == "postgresql":
        numbers = itertools.count(1)
        statement = _PLACEHOLDER.sub(
            lambda match: "%" if match[0] == "%%" else f"${next(numbers)}", sql
        )
    return _Compiled(sql, tuple(params), slots, compiler, queryset.db, name, statement)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return not isinstance(value, bool)  # True == 1: never take a flag for an id


def _instances(compiled: _Compiled, params: tuple) -> list:
    """What ModelIterable yields for these rows: instances, select_related and annotations."""
    compiler = compiled.compiler
    wrapper = connections[compiled.db]
    with wrapper.cursor() as cursor:
        if compiled.statement is not None and _prepared(wrapper, compiled):
            placeholders = ", ".join(["%s"] * len(params))
            cursor.execute(f"EXECUTE {compiled.name}({placeholders})" if params else
                           f"EXECUTE {compiled.name}", params)  # fmt: skip
        else:
            cursor.execute(compiled.sql, params)
        rows = cursor.fetchall()
    select, klass_info = compiler.select, compiler.klass_info
    annotations = compiler.annotation_col_map
    model = klass_info["model"]
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    init_list = [column[0].target.attname for column in select[start:end]]
    populators = get_related_populators(klass_info, select, compiled.db)
    found = []
    for row in compiler.results_iter([rows]):
        instance = model.from_db(compiled.db, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, instance)
        for name, position in annotations.items():
            setattr(instance, name, row[position])
        found.append(instance)
    return found


def _prepared(wrapper, compiled: _Compiled) -> bool:
    """Whether ``compiled`` is a prepared statement on ``wrapper``'s connection, PREPAREd now
    if it was not: PostgreSQL then plans it once per connection instead of on every request
    (planning the feed's query costs more than running it). Not counted as a query: it is
    made once per connection, so counts stay the same from one request to the next."""
    connection = wrapper.connection
    done = _prepared_on.setdefault(connection, set())
    if compiled.name in done:
        return True
    savepoint = wrapper.in_atomic_block
    with connection.cursor() as cursor:
        try:
            if savepoint:
                cursor.execute("SAVEPOINT prepared_statement")
            cursor.execute(f"PREPARE {compiled.name} AS {compiled.statement}")
        except Exception:
            if savepoint:
                cursor.execute("ROLLBACK TO SAVEPOINT prepared_statement")
            return False
        if savepoint:
            cursor.execute("RELEASE SAVEPOINT prepared_statement")
    done.add(compiled.name)
    return True


def forget() -> None:
    """Compile every shape again on its next use (after a setting its SQL reads has changed)."""
    with _lock:
        _compiled.clear()


def sql_of(statement: str) -> str:
    """The SQL behind ``EXECUTE name(...)`` as a query log shows it (for EXPLAIN's readers);
    any other SQL as it is."""
    found = re.match(r"EXECUTE (q_\w+)", statement)
    names = {compiled.name: compiled.sql for compiled in list(_compiled.values())}
    return names.get(found[1], statement) if found else statement
