"""A raw SMTP client for the tests that send what no well-behaved library
would: bytes that are not UTF-8, source routes, hand-made headers."""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass

from securerelay import ANNA, ANNA_PASSWORD


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


class RawClient:
    """One connection, command by command; each call returns the server's reply."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = self.sock.makefile("rb")
        self.greeting = self.read()

    def read(self) -> Reply:
        lines = []
        while True:
            line = self.reader.readline()
            if not line:
                raise ConnectionError("the server closed the connection")
            lines.append(line.rstrip(b"\r\n"))
            if line[3:4] != b"-":
                break
        text = b"\n".join(line[4:] for line in lines).decode("utf-8", "replace")
        return Reply(int(lines[-1][:3]), text)

    def command(self, line: bytes) -> Reply:
        self.sock.sendall(line + b"\r\n")
        return self.read()

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def send_message(
    port: int, mail_from: str, rcpts: list[str], data: bytes, *, as_anna: bool = False, **mail
) -> Reply:
    """Send one message with smtplib (STARTTLS and AUTH as Anna if asked);
    the server's last reply: 250 when queued, else the refusal."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        if as_anna:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            client.starttls(context=context)
            client.login(ANNA, ANNA_PASSWORD)
        try:
            client.sendmail(mail_from, rcpts, data, **mail)
        except smtplib.SMTPDataError as error:
            return Reply(error.smtp_code, error.smtp_error.decode("utf-8", "replace"))
        except smtplib.SMTPSenderRefused as error:
            return Reply(error.smtp_code, error.smtp_error.decode("utf-8", "replace"))
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            return Reply(code, text.decode("utf-8", "replace"))
        return Reply(250, "queued")
