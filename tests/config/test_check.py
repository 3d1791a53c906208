"""`check`: the whole configuration, including rendering every template for everyone."""

from __future__ import annotations

from config import EXAMPLE_DIR, check


def test_example_config_checks_clean(env):
    assert check(EXAMPLE_DIR, env) == []


def test_load_errors_are_returned_not_raised(make_config, env):
    errors = check(make_config("[relay]\nlisen = 1\n"), env)
    assert [e.field for e in errors] == ["relay.lisen", "groups"]


def test_template_failing_at_render_time_is_reported_per_sender(make_config, env):
    directory = make_config(templates={"sig.html": "{{ name.upper(1, 2, 3) }}"})
    errors = check(directory, env)
    assert errors, "a template that raises while rendering must be reported"
    assert all(e.file == str(directory / "templates") for e in errors)
    assert "anna.schmidt@example.com" in errors[0].reason


def test_banner_that_is_not_an_image_is_reported(example_dir, env):
    (example_dir / "banners" / "spring-b.png").write_text("not really a picture")
    errors = check(example_dir, env)
    assert [(e.field, e.reason) for e in errors] == [
        ("campaigns[0].variants[1].image", "not a PNG, GIF or JPEG image")
    ]
