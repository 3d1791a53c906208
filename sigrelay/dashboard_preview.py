"""The dashboard's preview (/admin/preview), made from the relay's own preview.

The tracker may not import proxy/ (it knows no SMTP): this module, on the
wiring side, turns proxy/preview.py's copies into the plain values the page
shows (tracker/dashboard/preview_source.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from config.running import RunningConfig
from proxy.preview import PreviewCopy, Previewer
from proxy.preview_samples import sample_message
from proxy.recipient_choices import ChoiceSource
from tracker.dashboard.preview_source import PreviewSource, RenderedCopy, RenderedPreview
from tracker.tokens import Keyring


def _rendered(copy: PreviewCopy, of: int) -> RenderedCopy:
    tracking = "tracked" if copy.tracked else "untracked"
    banner = f"banner {copy.campaign}/{copy.variant}" if copy.campaign else "no banner"
    outcome = copy.outcome + (f" ({copy.reason})" if copy.reason else "")
    return RenderedCopy(
        title=f"Copy {copy.number} of {of}: {', '.join(copy.recipients)}",
        facts=f"{copy.privacy}, {tracking} · {banner} · {outcome}",
        html=copy.html,
        text=copy.text,
    )


def preview_source(
    running: RunningConfig, keyring: Keyring, choices: ChoiceSource | None
) -> PreviewSource:
    """`keyring`: the tracker's (banners load, quoted tokens are read as the relay
    does); `choices`: the store's opt-out and consent lists."""
    previewer = Previewer(running, keyring, choices=choices)

    def employees() -> list[tuple[str, str]]:
        return [(employee.email, employee.name) for employee in running.current.employees]

    async def render(sender: str, rcpts: tuple[str, ...], kind: str) -> RenderedPreview:
        message = sample_message(kind, sender, rcpts, datetime.now(UTC))
        preview = await previewer.preview(sender, rcpts, message, kind)
        copies = tuple(_rendered(copy, len(preview.copies)) for copy in preview.copies)
        return RenderedPreview(preview.summary(), tuple(preview.notes()), copies)

    return PreviewSource(employees, render)
