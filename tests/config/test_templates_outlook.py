"""The shipped HTML templates are safe in Outlook's Word rendering engine.

Word does not inherit CSS into table cells and paragraphs (each falls back to
Times New Roman), so every <td> and <p> names its own font-family; and it
draws a blue border around a linked image unless the image says border="0"."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html as lxml_html

TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "example" / "templates"
SHIPPED = sorted(TEMPLATES.glob("*.html"))


def outlook_problems(source: str) -> list[str]:
    """What Word's engine would get wrong in one HTML template, one line each."""
    problems = []
    for element in lxml_html.fragments_fromstring(source, no_leading_text=False):
        if isinstance(element, str):
            continue
        for node in element.iter("td", "p"):
            if "font-family" not in (node.get("style") or "").lower():
                problems.append(f"<{node.tag}> line {node.sourceline}: no font-family")
        for image in element.iter("img"):
            linked = any(parent.tag == "a" for parent in image.iterancestors())
            if linked and image.get("border") != "0":
                problems.append(f'<img> line {image.sourceline} in a link: no border="0"')
    return problems


def test_there_are_shipped_html_templates():
    assert len(SHIPPED) >= 4


@pytest.mark.parametrize("template", SHIPPED, ids=lambda path: path.name)
def test_shipped_template_is_safe_in_outlook(template: Path):
    assert outlook_problems(template.read_text(encoding="utf-8")) == []


def test_the_check_finds_what_outlook_gets_wrong():
    # The rule itself must be able to fail: a cell and a paragraph without a
    # font, and a linked image without border="0".
    bad = (
        '<table style="font-family: Arial;"><tr><td>x</td></tr></table><p>y</p>'
        '<a href="https://example.com"><img src="logo.png"></a>'
        '<p style="font-family: Arial;"><a href="/"><img src="ok.png" border="0"></a></p>'
    )
    problems = outlook_problems(bad)
    assert [problem.split(" ")[0] for problem in problems] == ["<td>", "<p>", "<img>"]
