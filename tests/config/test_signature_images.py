"""Signature images: `image("logo.png")` and `photo_url` in templates, hosted or embedded."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Tracking, build_plan, load_config
from config.check import check, is_warning
from config.images import ImageFolders, image_type, valid_name

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 24
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16
LOGO_LINE = '<img src="{{ image("logo.png") }}" alt="Logo">\n<b>{{ name }}</b>'
EMBEDDING = """
[[groups]]
name = "default"
signature_html = "sig.html"
signature_text = "sig.txt"
embed_images = true
"""


def _with_images(directory: Path, images: dict[str, bytes]) -> Path:
    (directory / "images").mkdir(exist_ok=True)
    for name, data in images.items():
        (directory / "images" / name).write_bytes(data)
    return directory


def test_image_types_are_read_from_the_first_bytes():
    assert [image_type(d) for d in (PNG, JPEG, WEBP, b"GIF89a...")] == [
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/gif",
    ]
    assert image_type(b'<svg xmlns="http://www.w3.org/2000/svg">') is None


@pytest.mark.parametrize(
    "name", ["../sigrelay.toml", "a/b.png", ".hidden.png", "logo.svg", "x..png", "", None, 3]
)
def test_names_that_could_leave_the_folder_or_are_not_images_are_refused(name):
    assert not valid_name(name)


def test_a_file_whose_bytes_disagree_with_its_extension_is_not_served(tmp_path: Path):
    (tmp_path / "logo.png").write_bytes(JPEG)
    (tmp_path / "real.png").write_bytes(PNG)
    folders = ImageFolders(tmp_path)
    assert folders.find("logo.png") is None
    assert folders.find("real.png").content_type == "image/png"


def test_a_symlink_out_of_the_folder_is_not_served(tmp_path: Path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(PNG)
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "link.png").symlink_to(outside)
    assert ImageFolders(folder).find("link.png") is None


def test_hosted_image_is_a_tracker_url(make_config, env):
    directory = _with_images(make_config(templates={"sig.html": LOGO_LINE}), {"logo.png": PNG})
    cfg = load_config(directory, env)
    html = cfg.signature_for(cfg.sender("anna.schmidt@example.com")).html
    assert '<img src="http://127.0.0.1:8080/i/logo.png" alt="Logo">' in html


def test_a_missing_image_drops_its_line_and_the_mail_still_gets_a_signature(make_config, env):
    cfg = load_config(make_config(templates={"sig.html": LOGO_LINE}), env)
    html = cfg.signature_for(cfg.sender("anna.schmidt@example.com")).html
    assert html == "<b>Anna Schmidt</b>"


def test_embedding_group_refers_by_cid_and_the_plan_carries_the_part(make_config, env):
    directory = make_config(EMBEDDING, templates={"sig.html": LOGO_LINE})
    cfg = load_config(_with_images(directory, {"logo.png": PNG}), env)
    plan = build_plan(
        cfg, cfg.sender("anna.schmidt@example.com"), campaign=None, variant=None, tracking=None
    )
    (image,) = plan.inline_images
    assert f'src="cid:{image.cid}"' in plan.signature.html
    assert (image.content_type, image.data, image.filename) == ("image/png", PNG, "logo.png")
    assert plan.embed_images


def test_employee_photo_from_the_synced_directory(make_config, env, tmp_path: Path):
    employees = "email,name,photo\nanna.schmidt@example.com,Anna,0f1e2d.jpg\nbob@example.com,Bob,\n"
    template = '<img src="{{ photo_url }}">\n{{ name }}'
    cfg = load_config(make_config(templates={"sig.html": template}, employees=employees), env)
    photos = cfg.data.dir / "directory" / "photos"
    photos.mkdir(parents=True)
    (photos / "0f1e2d.jpg").write_bytes(JPEG)
    anna = cfg.signature_for(cfg.sender("anna.schmidt@example.com")).html
    bob = cfg.signature_for(cfg.sender("bob@example.com")).html
    assert '<img src="http://127.0.0.1:8080/i/0f1e2d.jpg">' in anna
    assert bob == "Bob"  # no photo: the line goes


def test_untracked_copy_still_shows_the_hosted_logo(make_config, env):
    directory = _with_images(make_config(templates={"sig.html": LOGO_LINE}), {"logo.png": PNG})
    cfg = load_config(directory, env)
    sender = cfg.sender("anna.schmidt@example.com")
    plan = build_plan(cfg, sender, campaign=None, variant=None, tracking=Tracking.untracked())
    assert "/i/logo.png" in plan.signature.html and plan.inline_images == ()


def test_check_names_a_template_image_that_does_not_exist(make_config, env):
    problems = check(make_config(templates={"sig.html": LOGO_LINE}), env)
    errors = [p for p in problems if not is_warning(p)]
    assert any("image('logo.png')" in str(p) and "sig.html:1" in str(p) for p in errors), problems


def test_check_warns_about_a_heavy_image_and_an_svg(make_config, env):
    heavy = PNG + b"\x00" * (201 * 1024)
    directory = _with_images(
        make_config(templates={"sig.html": LOGO_LINE}), {"logo.png": heavy, "icon.svg": b"<svg/>"}
    )
    problems = check(directory, env)
    assert not [p for p in problems if not is_warning(p)], problems
    texts = [str(p) for p in problems]
    assert any("logo.png" in t and "KB" in t for t in texts)
    assert any("icon.svg" in t and "not served" in t for t in texts)
