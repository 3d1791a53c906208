"""Signature templates: Jinja2, autoescaped for .html, with empty lines dropped.

The empty-line rule (what admins expect from signature tools): a template
line that outputs at least one `{{ field }}` and whose fields *all* render
empty is removed together with its line break. So

    Phone: {{ phone }}<br>

vanishes for an employee without a phone, while a line with no fields, or
with at least one non-empty field, stays as written. Put each optional item
on its own template line. How: `finalize` (which Jinja calls on every
`{{ }}` output, before escaping) prefixes each output with one of two
private-use marker characters, "empty" or "filled"; after rendering, lines
carrying only "empty" markers are dropped and the markers removed.

Missing fields render as empty (no StrictUndefined): a directory without a
`mobile` column must not break the mail. Templates are admin-written but run
in Jinja's sandbox anyway: a template cannot reach Python internals.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from jinja2 import ChainableUndefined, FileSystemLoader, Template, TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

EMPTY = "\ue000"
FILLED = "\ue001"


def _mark(value: object) -> object:
    if value is None or isinstance(value, Undefined) or not str(value).strip():
        return EMPTY
    if isinstance(value, Markup):
        return Markup(FILLED) + value.replace(EMPTY, "").replace(FILLED, "")
    return FILLED + str(value).replace(EMPTY, "").replace(FILLED, "")


def tel_uri_digits(value: object) -> str:
    """`{{ phone|tel }}` for href="tel:…": RFC 3966 numbers carry no spaces."""
    text = "" if value is None or isinstance(value, Undefined) else str(value)
    return "".join(c for c in text if c.isdigit() or c == "+")


def drop_empty_lines(rendered: str) -> str:
    kept = [
        line
        for line in rendered.splitlines(keepends=True)
        if not (EMPTY in line and FILLED not in line)
    ]
    return "".join(kept).replace(EMPTY, "").replace(FILLED, "")


def make_environment(templates_dir: Path) -> ImmutableSandboxedEnvironment:
    environment = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(templates_dir),
        autoescape=lambda name: bool(name) and name.endswith((".html", ".htm")),
        undefined=ChainableUndefined,
        finalize=_mark,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    environment.filters["tel"] = tel_uri_digits
    return environment


class SignatureTemplate:
    """One compiled template file; `render` applies the empty-line rule."""

    def __init__(self, template: Template, path: Path) -> None:
        self._template = template
        self.path = path

    def render(self, fields: Mapping[str, object]) -> str:
        return drop_empty_lines(self._template.render(fields)).strip("\n")


def compile_template(environment: ImmutableSandboxedEnvironment, name: str) -> SignatureTemplate:
    """Raises jinja2.TemplateNotFound or TemplateSyntaxError (with lineno)."""
    template = environment.get_template(name)
    return SignatureTemplate(template, Path(template.filename or name))


__all__ = ["SignatureTemplate", "TemplateError", "compile_template", "make_environment"]
