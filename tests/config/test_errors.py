"""Every configuration error names the file, the field (and line where known)
and a reason the admin can act on; several errors are reported together."""

from __future__ import annotations

import pytest

from config import ConfigError, ConfigErrors, load_config

from .conftest import ONE_GROUP


def errors_of(directory, env) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as caught:
        load_config(directory, env)
    return caught.value.errors


def only_error(directory, env) -> ConfigError:
    errors = errors_of(directory, env)
    assert len(errors) == 1, [e.message for e in errors]
    return errors[0]


def test_missing_config_file_is_named(tmp_path, env):
    error = only_error(tmp_path, env)
    assert error.file == str(tmp_path / "sigrelay.toml")
    assert "not found" in error.reason


def test_toml_syntax_error_gives_file_and_line(make_config, env):
    directory = make_config('[relay]\nlisten = "127.0.0.1:2525"\nhostname = = "x"\n')
    error = only_error(directory, env)
    assert (error.file, error.line) == (str(directory / "sigrelay.toml"), 3)
    assert "TOML syntax" in error.reason


def test_unknown_key_names_field_line_and_suggests_the_right_one(make_config, env):
    directory = make_config('[relay]\nlisen = "127.0.0.1:2525"\n' + ONE_GROUP)
    error = only_error(directory, env)
    assert (error.field, error.line) == ("relay.lisen", 2)
    assert error.reason == "unknown key 'lisen'"
    assert "listen" in error.hint
    assert error.message.startswith(f"{directory / 'sigrelay.toml'}:2: relay.lisen:")


def test_unknown_key_inside_the_second_group_points_at_its_line(make_config, env):
    second = ONE_GROUP.replace('"default"', '"other"').replace("name =", "nmae =")
    directory = make_config(ONE_GROUP + second)
    errors = {e.field: e for e in errors_of(directory, env)}
    assert errors["groups[1].nmae"].line == ONE_GROUP.count("\n") + 3
    assert errors["groups[1].name"].reason == "required key is missing"


def test_wrong_type_names_field_and_value(make_config, env):
    directory = make_config('[relay]\nmax_message_size = "huge"\n' + ONE_GROUP)
    error = only_error(directory, env)
    assert (error.field, error.line) == ("relay.max_message_size", 2)
    assert "'huge'" in error.reason


def test_bad_listen_address_is_explained(make_config, env):
    directory = make_config('[tracker]\nlisten = "8080"\n' + ONE_GROUP)
    error = only_error(directory, env)
    assert error.field == "tracker.listen"
    assert "host:port" in error.reason


def test_password_written_in_toml_is_refused(make_config, env):
    directory = make_config('[upstream]\npassword = "hunter2"\n' + ONE_GROUP)
    error = only_error(directory, env)
    assert error.field == "upstream"
    assert "password_env" in error.reason
    assert "hunter2" not in error.message


def test_unset_password_env_variable_is_named(make_config, env):
    directory = make_config('[upstream]\npassword_env = "NOT_SET_PW"\n' + ONE_GROUP)
    error = only_error(directory, env)
    assert (error.field, error.line) == ("upstream.password_env", 2)
    assert "NOT_SET_PW" in error.reason


def test_unknown_upstream_scheme_is_refused(make_config, env):
    directory = make_config('[upstream]\nurl = "lmtp://127.0.0.1:24"\n' + ONE_GROUP)
    assert "smtp://, smtps:// or maildir:" in only_error(directory, env).reason


def test_bad_env_override_names_the_variable(example_dir, env):
    error = only_error(example_dir, env | {"SIGRELAY_RELAY__LISTEN": "nonsense"})
    assert error.file == "environment variable SIGRELAY_RELAY__LISTEN"
    assert error.field == "relay.listen"


def test_missing_template_names_the_group_field(make_config, env):
    directory = make_config(ONE_GROUP.replace('"sig.txt"', '"gone.txt"'))
    error = only_error(directory, env)
    assert (error.field, error.line) == ("groups[0].signature_text", 5)
    assert "gone.txt" in error.reason


def test_template_syntax_error_names_template_file_and_line(make_config, env):
    directory = make_config(templates={"sig.html": "<b>{{ name }}</b>\n{% if %}\n"})
    error = only_error(directory, env)
    assert (error.file, error.line) == (str(directory / "templates" / "sig.html"), 2)


def test_bad_csv_row_names_file_line_and_column(make_config, env):
    employees = "email,name\nanna@example.com,Anna\nnot-an-address,Nobody\n"
    error = only_error(make_config(employees=employees), env)
    assert (error.file, error.line, error.field) == (
        str(error.file),
        3,
        "email",
    )
    assert error.file.endswith("employees.csv")
    assert "not-an-address" in error.reason


def test_alias_already_used_by_another_employee_is_refused(make_config, env):
    employees = (
        "email,name,aliases\na@example.com,A,info@example.com\nb@example.com,B,INFO@example.com\n"
    )
    error = only_error(make_config(employees=employees), env)
    assert (error.line, error.field) == (3, "aliases")
    assert "line 2" in error.reason


def test_csv_without_email_column_is_refused(make_config, env):
    error = only_error(make_config(employees="mail,name\na@example.com,A\n"), env)
    assert (error.line, error.field) == (1, "email")


def test_bad_address_glob_is_refused(make_config, env):
    directory = make_config(ONE_GROUP + 'match = [{ address = "sales-*" }]\n')
    error = only_error(directory, env)
    assert error.field == "groups[0].match[0].address"
    assert "'@'" in error.reason


def test_match_rule_with_two_conditions_is_refused(make_config, env):
    directory = make_config(ONE_GROUP + 'match = [{ domain = "a.com", department = "Sales" }]\n')
    assert only_error(directory, env).field == "groups[0].match[0]"


CAMPAIGN = """
[[campaigns]]
id = "c1"
groups = ["default"]
start = {start}
end = {end}
[[campaigns.variants]]
id = "a"
image = "a.png"
"""
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def test_campaign_ending_before_it_starts_is_refused(make_config, env):
    toml = ONE_GROUP + CAMPAIGN.format(start="2025-05-01T00:00:00Z", end="2025-04-01T00:00:00Z")
    error = only_error(make_config(toml, banners={"a.png": PNG}), env)
    assert error.field == "campaigns[0].end"
    assert "after start" in error.reason


def test_campaign_dates_without_timezone_are_refused(make_config, env):
    toml = ONE_GROUP + CAMPAIGN.format(start="2025-05-01T00:00:00", end="2025-06-01T00:00:00Z")
    error = only_error(make_config(toml, banners={"a.png": PNG}), env)
    assert error.field == "campaigns[0].start"
    assert "timezone" in error.reason


def test_campaign_for_unknown_group_and_missing_banner_are_both_reported(make_config, env):
    toml = ONE_GROUP + CAMPAIGN.format(
        start="2025-05-01T00:00:00Z", end="2025-06-01T00:00:00Z"
    ).replace('["default"]', '["nobody"]')
    errors = errors_of(make_config(toml), env)
    assert [e.field for e in errors] == ["campaigns[0].groups[0]", "campaigns[0].variants[0].image"]
    assert "known groups: default" in errors[0].hint


def test_zero_weight_variant_is_refused(make_config, env):
    toml = (
        ONE_GROUP
        + CAMPAIGN.format(start="2025-05-01T00:00:00Z", end="2025-06-01T00:00:00Z")
        + "weight = 0\n"
    )
    error = only_error(make_config(toml, banners={"a.png": PNG}), env)
    assert error.field == "campaigns[0].variants[0].weight"


def test_config_without_default_group_is_refused(make_config, env):
    toml = ONE_GROUP.replace('"default"', '"sales"') + 'match = [{ domain = "example.com" }]\n'
    error = only_error(make_config(toml), env)
    assert error.field == "groups"
    assert "default" in error.hint


def test_all_errors_are_reported_at_once(make_config, env):
    directory = make_config('[relay]\nlisen = "x"\n[tracker]\npublic_url = "ftp://x"\n' + ONE_GROUP)
    assert [e.field for e in errors_of(directory, env)] == ["relay.lisen", "tracker.public_url"]


def test_config_errors_is_a_config_error_with_every_message():
    errors = ConfigErrors(
        [ConfigError("a.toml", "x", "bad", line=3), ConfigError("b.csv", None, "worse")]
    )
    assert isinstance(errors, ConfigError)
    assert str(errors) == "a.toml:3: x: bad\nb.csv: worse"
