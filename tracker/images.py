"""`/i/<name>`: the signature images (logos, icons, employee photos).

Served, never counted: a signature image names no copy, so there is no event
to record; every recipient of every copy loads the same URL, which mail
programs and their image proxies may cache (`Cache-Control: public`, an
ETag from the content for revalidation). Which files may be served is
config/images.py's answer (images/ and the synced directory photos; PNG,
GIF, JPEG, WebP by content; plain names only): anything else is a 404 that
does not say why, so the route cannot be used to probe the file system.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from config.images import ROUTE, ImageFile

# A day: a replaced logo shows within one, and the ETag lets caches revalidate.
MAX_AGE_SECONDS = 86400

ImageLookup = Callable[[str], ImageFile | None]


def add_routes(app: web.Application, find_image: ImageLookup) -> None:
    """`find_image(name)` is asked on every request, so a reloaded config's
    images (and a new directory sync's photos) are served without a restart."""

    async def image(request: web.Request) -> web.Response:
        found = find_image(request.match_info["name"])
        if found is None:
            return web.Response(status=404, text="no such image\n")
        headers = {
            "Cache-Control": f"public, max-age={MAX_AGE_SECONDS}",
            "ETag": found.etag,
            # The type comes from the bytes; no browser may guess another one.
            "X-Content-Type-Options": "nosniff",
        }
        if found.etag in _etags(request.headers.get("If-None-Match", "")):
            return web.Response(status=304, headers=headers)
        return web.Response(body=found.data, content_type=found.content_type, headers=headers)

    app.router.add_get(ROUTE + "{name}", image)


def _etags(header: str) -> set[str]:
    return {part.strip().removeprefix("W/") for part in header.split(",") if part.strip()}
