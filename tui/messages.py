"""Messages from the reader to the UI.

``TickArrived`` carries nothing: the app keeps the latest records and the
handler renders from them, so a newer tick replaces a queued older one
(``can_replace``) and a slow frame never builds a backlog.
``SourceProgress`` may be posted from the source's own thread
(``post_message`` is thread-safe).
"""

from __future__ import annotations

from textual.message import Message


class TickArrived(Message):
    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TickArrived)


class SourceProgress(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SourceFailed(Message):
    def __init__(self, title: str, text: str, exit_code: int) -> None:
        super().__init__()
        self.title = title
        self.text = text
        self.exit_code = exit_code


class SourceEnded(Message):
    pass


class SourceWarning(Message):
    """Something the source wants the user to know (a capture cut short...)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
