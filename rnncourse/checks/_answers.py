"""A passing answer, kept with what it needs from its notebook so a later one can run it."""

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
    """An import statement that binds ``name`` to ``value`` (a module or a module's global)."""
    if isinstance(value, types.ModuleType):
        module = value.__name__
        return f"import {module}" if module == name else f"import {module} as {name}"
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", "")
    if not module or not qualname.isidentifier():  # nested, or "<lambda>", or none
        return None
    try:
        if getattr(importlib.import_module(module), qualname) is not value:
            return None
    except (ImportError, AttributeError):
        return None
    return f"from {module} import {qualname}" + ("" if qualname == name else f" as {name}")


def capture(fn) -> dict | None:
    """The record ``{"name", "source", "uses", "missing"}`` of a passing answer ``fn`` (None
    if its source cannot be read): its source after the imports, constants and helpers it needs;
    ``{global name: exercise}`` for the answers of other exercises it calls; the global names
    that cannot be carried over (a tensor or other object defined outside the cell)."""
    if not isinstance(fn, types.FunctionType) or fn.__name__ == "<lambda>" or _source(fn) is None:
        return None
    imports, constants, uses = {}, {}, {}
    helpers, missing, done = [], [], set()

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
            if (exercise := exercise_of(value)) is not None:
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
    """The function of a :func:`capture` ``record``, binding ``resolve(exercise)`` for each of
    its ``uses`` and running nothing else. Raises ``NameError`` naming what is missing, or the
    error the source raises."""
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
    # where inspect finds it, so that the rebuilt function can be captured again
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    fn = namespace.get(record["name"])
    if not isinstance(fn, types.FunctionType):
        raise NameError(f"its source does not define {record['name']}")
    return fn
