"""A passing answer, kept so that a later notebook can run it again.

When a check passes, :func:`capture` records the function's source together with what it
needs from its notebook: helper functions it calls (defined in its cell or another),
the modules it names (``torch``, ``np``, ...), constants, and the answers of other exercises
it calls (``step = checks.use("rnn_step")``). :func:`rebuild` turns the record back into a
function in a later notebook, running nothing but that answer and what it needs. A name
that cannot be carried over (a tensor or an object defined outside the answer's cell) is
listed under ``missing``, so that the later notebook can say exactly what is missing.
"""

from __future__ import annotations

import builtins
import dis
import importlib
import inspect
import linecache
import textwrap
import types

from ._framework import REGISTRY

EXERCISE_ATTR = "__rnncourse_exercise__"  # set on the functions that checks.use returns
_SIMPLE = (int, float, bool, str, complex, type(None))


def exercise_of(value) -> str | None:
    """The exercise whose answer ``value`` is (a function from ``checks.use``, or a reference)."""
    name = getattr(value, EXERCISE_ATTR, None)
    if isinstance(name, str):
        return name
    return next((n for n, ex in REGISTRY.items() if ex.reference is value), None)


def _global_loads(code: types.CodeType):
    """Names that ``code`` (and functions defined inside it) reads as globals."""
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            yield ins.argval
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _global_loads(const)


def _source(fn) -> str | None:
    try:
        return textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None


def _is_notebook_code(fn) -> bool:
    """Whether ``fn`` was written in a notebook (or a script), not in an installed package."""
    filename = fn.__code__.co_filename
    return not any(part in filename for part in ("site-packages", "rnncourse/", "rnncourse\\"))


def _import_line(name: str, value) -> str | None:
    """An import statement that binds ``name`` to ``value``, or None."""
    if isinstance(value, types.ModuleType):
        module = value.__name__
        return f"import {module}" if module == name else f"import {module} as {name}"
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        return None
    try:
        found = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    if found is not value:
        return None
    head, _, tail = qualname.rpartition(".")
    where = f"{module}.{head}" if head else module
    return f"from {where} import {tail}" + ("" if tail == name else f" as {name}")


def capture(fn) -> dict | None:
    """The record of a passing answer ``fn``, or None when its source cannot be read.

    Returns ``{"name", "source", "uses", "missing"}``: the function's name; its source after
    the imports, constants and helpers it needs; ``{global name: exercise}`` for the answers
    of other exercises it calls; the global names that could not be carried over.
    """
    if not isinstance(fn, types.FunctionType) or fn.__name__ == "<lambda>" or _source(fn) is None:
        return None
    imports: dict[str, str] = {}
    constants: dict[str, str] = {}
    helpers: list[str] = []
    uses: dict[str, str] = {}
    missing: list[str] = []
    done: set[str] = set()

    def visit(f) -> None:
        for name in _global_loads(f.__code__):
            if name in done or name == f.__name__:
                continue
            done.add(name)
            if name not in f.__globals__:
                continue  # a builtin, or a name that is never defined
            value = f.__globals__[name]
            if value is getattr(builtins, name, object()):
                continue
            exercise = exercise_of(value)
            if exercise is not None:
                uses[name] = exercise
            elif isinstance(value, types.FunctionType) and _is_notebook_code(value):
                source = _source(value)
                if source is None:
                    missing.append(name)
                    continue
                visit(value)
                helpers.append(
                    source if value.__name__ == name else f"{source}\n{name} = {value.__name__}"
                )
            elif (line := _import_line(name, value)) is not None:
                imports[name] = line
            elif isinstance(value, _SIMPLE) or (
                isinstance(value, tuple) and all(isinstance(v, _SIMPLE) for v in value)
            ):
                constants[name] = f"{name} = {value!r}"
            else:
                missing.append(name)

    visit(fn)
    parts = [*imports.values(), *constants.values(), *helpers, _source(fn)]
    return {"name": fn.__name__, "source": "\n\n".join(parts), "uses": uses, "missing": missing}


def rebuild(record: dict, resolve) -> types.FunctionType:
    """The function of a :func:`capture` ``record``.

    ``resolve(exercise)`` returns the function to bind for each of the answer's ``uses``.
    Raises ``NameError`` naming what is missing, or the error the source raises.
    """
    if record.get("missing"):
        names = ", ".join(f"`{n}`" for n in record["missing"])
        raise NameError(
            f"it uses {names}, defined outside its cell as a value that cannot be carried to "
            f"another notebook; define it inside the function (or its cell) and rerun the "
            f"check"
        )
    namespace = {name: resolve(exercise) for name, exercise in record.get("uses", {}).items()}
    filename = f"<your {record['name']}>"
    source = record["source"]
    # kept where inspect finds it, so that the rebuilt function can be captured again
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    fn = namespace.get(record["name"])
    if not isinstance(fn, types.FunctionType):
        raise NameError(f"its source does not define {record['name']}")
    return fn
