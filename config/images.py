"""Signature images: logos, photos and icons that templates name with `image("logo.png")`.

Where they live: `images/` in the config directory (the admin's), then the
photos `sigrelay directory sync` writes to `<data dir>/directory/photos/` (a
directory entry's `photo` column holds the file name). One namespace, images/
first: photo names are content hashes, so they do not meet a logo's name.

Which files: PNG, GIF, JPEG and WebP, recognised by their first bytes, never
by the name alone. SVG is refused: it is a document that can carry script
(served from the tracker's origin, which the dashboard shares, it would be a
stored XSS), and Gmail and Outlook do not show it in mail anyway.

How a template gets one: as a URL on the tracker (`<public_url>/i/<name>`,
cacheable, counting nothing), or, for a group with `embed_images`, as a
`cid:` reference to an inline part the plan carries (config/plans.py). A
name that is not a servable image renders as an empty string, so the
empty-line rule drops its line: a missing logo never stops mail, and
`sigrelay check` names it (config/lint.py).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

# First bytes -> MIME type. WebP is a RIFF container: "RIFF", 4 size bytes, "WEBP".
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
EXTENSIONS = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}
# A plain file name: no directory part, no leading dot, nothing a URL or a
# header would have to escape in surprising ways.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# What the template functions put in front of a name for the tracker route.
ROUTE = "/i/"


def image_type(head: bytes) -> str | None:
    """The MIME type the first bytes of a file announce (PNG, GIF, JPEG, WebP), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


def valid_name(name: object) -> bool:
    """A plain file name with an image extension: nothing that could leave its folder."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        return False
    return Path(name).suffix.lower() in EXTENSIONS


@dataclass(frozen=True)
class ImageFile:
    name: str
    path: Path
    content_type: str
    data: bytes

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.data).hexdigest()[:32] + '"'


class ImageFolders:
    """The folders images are looked up in, in order (images/, then the photos)."""

    def __init__(self, *folders: Path) -> None:
        self.folders = folders

    def find(self, name: object) -> ImageFile | None:
        """The image of that name, or None: an unsafe name, no such file, a
        file outside its folder (a symlink out), or not an image inside."""
        if not valid_name(name):
            return None
        assert isinstance(name, str)
        for folder in self.folders:
            path = folder / name
            try:
                if not path.is_file() or path.resolve().parent != folder.resolve():
                    continue
                data = _read(path, path.stat().st_mtime_ns)
            except OSError:
                continue
            content_type = image_type(data[:12])
            # The extension must agree with the bytes: a .png holding a JPEG would
            # be shown by some clients and refused by others.
            if content_type is not None and content_type == EXTENSIONS[path.suffix.lower()]:
                return ImageFile(name, path, content_type, data)
            return None
        return None


@functools.lru_cache(maxsize=256)
def _read(path: Path, mtime_ns: int) -> bytes:
    # Keyed by mtime: an image replaced on disk is read again (hot reload).
    del mtime_ns
    return path.read_bytes()


def content_id(image: ImageFile) -> str:
    """The Content-ID of an embedded image: by content, so a changed logo is a new part."""
    return f"image.{hashlib.sha256(image.data).hexdigest()[:16]}@sigrelay"


class ImageReferences:
    """The `image(name)` a template calls during one rendering: a hosted URL
    or a `cid:` reference, and (embedding) which images were referred to."""

    def __init__(self, folders: ImageFolders, public_url: str, *, embed: bool) -> None:
        self.folders = folders
        self.public_url = public_url
        self.embed = embed
        self.used: dict[str, ImageFile] = {}

    def __call__(self, name: object = None) -> str:
        image = self.folders.find(name)
        if image is None:
            return ""  # empty: the empty-line rule drops the line (module docstring)
        if self.embed:
            cid = content_id(image)
            self.used.setdefault(cid, image)
            return f"cid:{cid}"
        return f"{self.public_url}{ROUTE}{quote(image.name)}"
