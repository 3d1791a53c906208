"""Signature templates: autoescaped HTML, empty-field lines removed, extra columns."""

from __future__ import annotations

from config import load_config

EMPLOYEES = """email,name,title,phone,mobile,department,linkedin
full@example.com,Full Person,Boss,+49 30 1,+49 170 2,Sales,https://li.example/full
bare@example.com,Bare Person,,,,,
evil@example.com,<script>alert(1)</script>,A & B,,,,
"""


def render(make_config, env, templates: dict[str, str], address: str):
    cfg = load_config(make_config(templates=templates, employees=EMPLOYEES), env)
    return cfg.signature_for(cfg.sender(address))


def test_line_whose_fields_are_all_empty_disappears(make_config, env):
    text = "{{ name }}\nPhone: {{ phone }}\nMobile: {{ mobile }}\nBye"
    signature = render(make_config, env, {"sig.txt": text}, "bare@example.com")
    assert signature.text == "Bare Person\nBye"


def test_line_with_one_filled_field_stays_whole(make_config, env):
    text = "{{ name }}\nPhone: {{ phone }} / Mobile: {{ mobile }}"
    signature = render(make_config, env, {"sig.txt": text}, "full@example.com")
    assert signature.text == "Full Person\nPhone: +49 30 1 / Mobile: +49 170 2"


def test_lines_without_fields_always_stay(make_config, env):
    text = "{{ phone }}\nHello\n\nVisit us\n"
    signature = render(make_config, env, {"sig.txt": text}, "bare@example.com")
    assert signature.text == "Hello\n\nVisit us"


def test_html_row_of_an_empty_field_disappears(make_config, env):
    html = (
        "<table>\n<tr><td>{{ name }}</td></tr>\n"
        '<tr><td>Phone: <a href="tel:{{ phone|tel }}">{{ phone }}</a></td></tr>\n</table>'
    )
    bare = render(make_config, env, {"sig.html": html}, "bare@example.com")
    full = render(make_config, env, {"sig.html": html}, "full@example.com")
    assert "Phone" not in bare.html
    assert '<a href="tel:+49301">+49 30 1</a>' in full.html


def test_employee_data_is_escaped_in_html(make_config, env):
    html = "<b>{{ name }}</b> {{ title }}"
    signature = render(make_config, env, {"sig.html": html}, "evil@example.com")
    assert signature.html == "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b> A &amp; B"


def test_text_signature_is_not_html_escaped(make_config, env):
    signature = render(make_config, env, {"sig.txt": "{{ title }}"}, "evil@example.com")
    assert signature.text == "A & B"


def test_extra_csv_columns_reach_the_template(make_config, env):
    html = '<a href="{{ linkedin }}">LinkedIn</a>'
    signature = render(make_config, env, {"sig.html": html}, "full@example.com")
    assert signature.html == '<a href="https://li.example/full">LinkedIn</a>'


def test_unknown_field_renders_empty_instead_of_failing(make_config, env):
    text = "{{ name }}\nFax: {{ fax }}\n{{ nothing.deeper }}"
    signature = render(make_config, env, {"sig.txt": text}, "full@example.com")
    assert signature.text == "Full Person"


def test_sender_outside_directory_gets_address_company_and_group(make_config, env):
    text = "{{ name }}\n{{ address }}\n{{ group }}"
    signature = render(make_config, env, {"sig.txt": text}, "walk-in@example.com")
    assert signature.text == "walk-in@example.com\ndefault"


def test_example_sales_and_staff_signatures_differ_and_carry_links(example):
    anna = example.signature_for(example.sender("anna.schmidt@example.com"))
    ben = example.signature_for(example.sender("ben.mueller@example.com"))
    assert "Anna Schmidt" in anna.html and "Key Account Manager" in anna.text
    assert "Ben Müller" in ben.html and "Software Engineer" in ben.text
    for html in (anna.html, ben.html):
        assert 'href="https://www.example.com"' in html
        assert "linkedin.com" in html
    assert anna.html.split(">")[0] != ben.html.split(">")[0]


def test_example_reply_signature_is_shorter(example):
    sender = example.sender("anna.schmidt@example.com")
    full, reply = example.signature_for(sender), example.reply_signature_for(sender)
    assert reply is not None
    assert "Anna Schmidt" in reply.text
    assert len(reply.text) < len(full.text) and len(reply.html) < len(full.html)
