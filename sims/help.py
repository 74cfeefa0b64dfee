"""`gscsim methods`: the reference of every method's TOML keys, from the option models."""

from __future__ import annotations

import types
import typing

from pydantic import BaseModel

from .registry import get_method, registered_kinds

__all__ = ["describe_methods", "type_name"]


def type_name(annotation) -> str:
    """A short readable name of a field's type (``int | None``, ``'ddim' | 'ddpm'``, ...)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _options(model: type[BaseModel]) -> list[str]:
    lines = []
    for name, info in model.model_fields.items():
        default = "required" if info.is_required() else repr(info.get_default(call_default_factory=True))
        lines.append(f"    {name}: {type_name(info.annotation)} = {default}")
        lines.append(f"        {info.description or '(no description)'}")
    return lines


def describe_methods(kind: str | None = None) -> str:
    """Text listing every registered method (or one) with its metrics and options."""
    kinds = registered_kinds() if kind is None else [kind]
    out = []
    for k in kinds:
        spec = get_method(k)
        out.append(f"{k}: {spec.description}")
        out.append(f"  metrics: {', '.join(m.name for m in spec.metrics)}")
        if spec.axes:
            out.append(f"  sweep axes it reads itself: {', '.join(sorted(spec.axes))}")
        out.append("  options ([methods.<name>] keys; each also a sweep axis):" if spec.options.model_fields else "  options: none")
        out += _options(spec.options)
        out.append("")
    return "\n".join(out).rstrip()
