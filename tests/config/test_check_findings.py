"""`check` finds what loads fine and then breaks mail (issue 17): template
fields no column provides, shadowed campaigns, broken links, heavy or fake
banners, missing TLS/CA/DKIM files, and every problem in one run."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from config import check
from config.check import is_warning
from proxy.startup_checks import startup_problems
from sigrelay.cli import main
from tests.relay_security.securerelay import make_certificate

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64

CAMPAIGN = """
[[campaigns]]
id = "{id}"
groups = ["default"]
start = 2026-01-01T00:00:00+00:00
end = {end}
priority = {priority}
[[campaigns.variants]]
id = "a"
image = "b.png"
link = "{link}"
"""


def campaign(
    id: str,
    *,
    priority: int = 0,
    end: str = "2027-01-01T00:00:00+00:00",
    link: str = "https://example.com/x",
) -> str:
    return CAMPAIGN.format(id=id, priority=priority, end=end, link=link)


def test_misspelt_template_field_is_an_error_naming_file_line_and_field(make_config, env):
    template = "<b>{{ name }}</b>\n{{ titel }}<br>\n{{ phone }}"
    directory = make_config(templates={"sig.html": template})
    errors = check(directory, env)
    assert [(e.file, e.line, e.field) for e in errors] == [
        (str(directory / "templates" / "sig.html"), 2, "titel")
    ]
    assert not is_warning(errors[0])
    assert "did you mean 'title'?" in errors[0].message


def test_fields_from_extra_csv_columns_and_the_context_are_known(make_config, env):
    employees = "email,name,linkedin\nanna@example.com,Anna,https://example.com/in/anna\n"
    template = "{{ name }} {{ linkedin }} {{ company }} {{ address }} {{ group }}"
    template += "{% set x = 1 %}{{ x }}{% for i in range(2) %}{{ i }}{% endfor %}"
    directory = make_config(templates={"sig.html": template}, employees=employees)
    assert check(directory, env) == []


def test_overlapping_campaigns_of_equal_priority_warn_naming_both(make_config, env):
    toml = (
        '[[groups]]\nname = "default"\nsignature_html = "sig.html"\n'
        'signature_text = "sig.txt"\n' + campaign("spring") + campaign("summer")
    )
    problems = check(make_config(toml, banners={"b.png": PNG}), env)
    assert len(problems) == 1 and is_warning(problems[0])
    assert "'spring'" in problems[0].reason and "'summer'" in problems[0].reason
    assert problems[0].field == "campaigns[1]"


@pytest.mark.parametrize(
    ("second", "why"),
    [(dict(priority=5), "different priority"), (dict(link="https://example.com/y"), "same")],
)
def test_only_equal_priorities_warn(make_config, env, second, why):
    toml = (
        '[[groups]]\nname = "default"\nsignature_html = "sig.html"\n'
        'signature_text = "sig.txt"\n' + campaign("spring") + campaign("summer", **second)
    )
    problems = check(make_config(toml, banners={"b.png": PNG}), env)
    assert len(problems) == (0 if "priority" in second else 1), why


def test_banner_link_with_a_space_is_an_error(make_config, env):
    toml = (
        '[[groups]]\nname = "default"\nsignature_html = "sig.html"\n'
        'signature_text = "sig.txt"\n' + campaign("spring", link="https://example.com/spring sale")
    )
    errors = check(make_config(toml, banners={"b.png": PNG}), env)
    assert [(e.field, is_warning(e)) for e in errors] == [("campaigns[0].variants[0].link", False)]
    assert "whitespace" in errors[0].reason


def test_signature_link_broken_by_a_directory_value_warns(make_config, env):
    employees = "email,name,site\nanna@example.com,Anna,https://example.com/anna page\n"
    directory = make_config(
        templates={"sig.html": '<a href="{{ site }}">{{ name }}</a>'}, employees=employees
    )
    problems = check(directory, env)
    assert [(p.field, is_warning(p)) for p in problems] == [("link for anna@example.com", True)]


def test_heavy_banner_warns_and_fake_banner_errs(make_config, env):
    toml = (
        '[[groups]]\nname = "default"\nsignature_html = "sig.html"\n'
        'signature_text = "sig.txt"\n' + campaign("spring")
    )
    heavy = check(make_config(toml, banners={"b.png": PNG + b"\0" * 300_000}), env)
    assert [is_warning(p) for p in heavy] == [True]
    assert "KB" in heavy[0].reason
    fake = check(make_config(toml, banners={"b.png": b"<html>"}), env)
    assert [(p.reason, is_warning(p)) for p in fake] == [("not a PNG, GIF or JPEG image", False)]


def test_missing_tls_ca_and_dkim_files_are_errors(make_config, env):
    toml = (
        '[relay]\ntls_cert = "cert.pem"\ntls_key = "key.pem"\n'
        '[upstream]\nurl = "smtp://127.0.0.1:25"\nca_file = "ca.pem"\n'
        '[dkim]\nenabled = true\ndomain = "example.com"\nkey_file = "dkim.pem"\n'
    ) + '[[groups]]\nname = "default"\nsignature_html = "sig.html"\nsignature_text = "sig.txt"\n'
    errors = check(make_config(toml), env, extra=(startup_problems,))
    assert sorted(e.field for e in errors) == [
        "dkim.key_file",
        "relay.tls_cert",
        "relay.tls_key",
        "upstream.ca_file",
    ]
    assert all(not is_warning(e) and "serve" in (e.hint or "") for e in errors if "tls" in e.field)


def test_a_key_that_does_not_belong_to_the_certificate_is_an_error(make_config, env, tmp_path):
    cert, own_key = make_certificate(tmp_path, "one")
    _, other_key = make_certificate(tmp_path, "two")
    toml = (
        f'[relay]\ntls_cert = "{cert}"\ntls_key = "{other_key}"\n'
        '[[groups]]\nname = "default"\nsignature_html = "sig.html"\nsignature_text = "sig.txt"\n'
    )
    errors = check(make_config(toml), env, extra=(startup_problems,))
    assert [e.field for e in errors] == ["relay.tls_cert"]
    toml = toml.replace(str(other_key), str(own_key))
    assert check(make_config(toml), env, extra=(startup_problems,)) == []


def test_a_toml_error_does_not_hide_csv_and_template_errors(make_config, env):
    directory = make_config(
        "[relay\n",
        templates={"sig.txt": "{% if name %}unclosed"},
        employees="email,name\nnot-an-address,Anna\n",
    )
    files = sorted({e.file.rsplit("/", 1)[-1] for e in check(directory, env)})
    assert files == ["employees.csv", "sig.txt", "sigrelay.toml"]


def test_cli_prints_errors_and_warnings_with_a_count(make_config, env, monkeypatch):
    toml = (
        '[[groups]]\nname = "default"\nsignature_html = "sig.html"\n'
        'signature_text = "sig.txt"\n' + campaign("spring") + campaign("summer")
    )
    directory = make_config(toml, banners={"b.png": PNG})
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["check", "--config", str(directory)])
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output and "configuration OK (1 warning(s))" in result.output
    (directory / "templates" / "sig.txt").write_text("{{ nmae }}")
    result = CliRunner().invoke(main, ["check", "--config", str(directory)])
    assert result.exit_code == 1
    assert "error: " in result.output and "1 error(s), 1 warning(s)" in result.output
