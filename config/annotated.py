"""The sigrelay.toml that `sigrelay init` writes: every key of the schema, each
with a one-line comment and its default, generated from config/schema.py so
that it never drifts from what the loader accepts.

The comments are the schema's own: the comment above a field or at the end of
its line (tokenize keeps them), else a description of its type. Keys the
bundled example sets are written active with the example's value; every other
key is written commented out with its default, so uncommenting a line never
changes behaviour and later defaults are not pinned.
"""

from __future__ import annotations

import ast
import enum
import inspect
import io
import json
import re
import shutil
import tokenize
import tomllib
import typing
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from config import schema
from config.model import Config

UNSET = "<unset>"
# Defaults the loader derives from the data directory (config/loader.py _resolve_paths).
LOADER_DEFAULTS = {
    ("store", "url"): '"sqlite+aiosqlite:///<data dir>/sigrelay.db"',
    ("data", "dir"): "<$SIGRELAY_DATA, else ./data>",
}


def annotated_toml(example: dict[str, Any]) -> str:
    """`example`: the parsed example TOML whose values are written active."""
    out: list[str] = [
        "# sigrelay configuration: every key with its default (commented out) and what",
        "# it does. Values set here override the defaults; `sigrelay check` validates.",
        "# Any key can also be set as SIGRELAY_<SECTION>__<KEY> in the environment.",
    ]
    for name, field in Config.model_fields.items():
        model, is_list = _model_of(field)
        if model is None:
            continue
        out.append("")
        comment = _field_comments(Config).get(name)
        out.extend([f"# {comment}"] if comment else _doc_lines(model))
        entries = example.get(name)
        if is_list:
            if isinstance(entries, list) and entries:
                for entry in entries:
                    out.extend(_table(model, name, entry, array=True))
            else:
                out.extend(_commented_block(_table(model, name, {}, array=True)))
        else:
            out.extend(_table(model, name, entries if isinstance(entries, dict) else {}))
    return "\n".join(out) + "\n"


def _table(model: type[BaseModel], path: str, values: dict[str, Any], array: bool = False) -> list:
    lines = [f"[[{path}]]" if array else f"[{path}]"]
    nested: list[str] = []
    for key, field in model.model_fields.items():
        sub_model, is_list = _model_of(field)
        if sub_model is not None:
            nested.append("")
            nested.extend(_comment_lines(model, key, field) or _doc_lines(sub_model))
            given = values.get(key)
            entries = given if is_list and isinstance(given, list) else [given]
            if all(isinstance(entry, dict) for entry in entries):
                for entry in entries:
                    nested.extend(_table(sub_model, f"{path}.{key}", entry, array=is_list))
            else:
                block = _table(sub_model, f"{path}.{key}", {}, array=is_list)
                nested.extend(_commented_block(block))
            continue
        lines.extend(_comment_lines(model, key, field))
        if key in values:
            lines.append(f"{key} = {toml_value(values[key])}")
        else:
            default = LOADER_DEFAULTS.get((path, key)) or _default_text(field)
            lines.append(f"# {key} = {default}")
    return lines + nested


def _commented_block(lines: list[str]) -> list[str]:
    return [line if line.startswith("#") or not line else f"# {line}" for line in lines]


def _default_text(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "<required>"
    default = field.get_default(call_default_factory=True)
    if default is None:
        return UNSET
    return toml_value(default)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return toml_value(value.value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    # JSON's string escapes are a subset of TOML's basic strings.
    return json.dumps(str(value), ensure_ascii=False)


def _key(key: str) -> str:
    """A bare TOML key as it is; others (".de", "example.fr") quoted."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _model_of(field: FieldInfo) -> tuple[type[BaseModel] | None, bool]:
    """(the section model a field holds, whether it is an array of them)."""
    annotation = field.annotation
    is_list = typing.get_origin(annotation) in (tuple, list)
    while annotation is not None and typing.get_origin(annotation) is not None:
        annotation = next((a for a in typing.get_args(annotation) if a is not Ellipsis), None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, is_list
    return None, False


def _comment_lines(model: type[BaseModel], key: str, field: FieldInfo) -> list[str]:
    text = _field_comments(model).get(key) or _type_words(field)
    return [f"# {text}"] if text else []


def _doc_lines(model: type[BaseModel]) -> list[str]:
    doc = model.__dict__.get("__doc__")  # its own, not pydantic's BaseModel docstring
    if not doc or not model.__module__.startswith(schema.__name__):
        return []
    first = " ".join(doc.split("\n\n")[0].split())
    return [f"# {first}"]


@cache
def _field_comments(model: type[BaseModel]) -> dict[str, str]:
    """Each field's comment in the model's source: the comment lines directly
    above it, then the one at the end of its line, joined into one line."""
    try:
        source = inspect.getsource(model)
    except (OSError, TypeError):
        return {}
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
    lines = source.splitlines()
    found: dict[str, str] = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        above: list[str] = []
        row = node.lineno - 1
        while row >= 1 and lines[row - 1].strip().startswith("#"):
            above.insert(0, comments.get(row, ""))
            row -= 1
        trailing = comments.get(node.end_lineno or node.lineno)
        parts = [*above, trailing] if trailing else above
        text = " ".join(part for part in parts if part and not part.startswith("type:"))
        if text:
            found[node.target.id] = text
    return found


def _type_words(field: FieldInfo) -> str:
    """A plain description for a field the schema leaves uncommented."""
    annotation = field.annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of: " + ", ".join(str(a) for a in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of: " + ", ".join(str(m.value) for m in annotation)
    words = {bool: "true or false", int: "a whole number", float: "a number (seconds where a time)"}
    if annotation in words:
        return words[annotation]  # type: ignore[index]
    if origin in (tuple, list):
        return "a list"
    return ""


def write_config_directory(directory: Path) -> None:
    """`sigrelay init`: the example's files, and the annotated sigrelay.toml."""
    example_dir = Path(__file__).resolve().parent / "example"
    shutil.copytree(example_dir, directory, dirs_exist_ok=True)
    example = tomllib.loads((example_dir / "sigrelay.toml").read_text(encoding="utf-8"))
    (directory / "sigrelay.toml").write_text(annotated_toml(example), encoding="utf-8")
