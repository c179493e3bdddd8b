"""Transports: an SMTP server (production), or a directory of .eml files (development)."""

from __future__ import annotations

import smtplib
import ssl
from pathlib import Path

from licensedesk.services.ports_outbox import Mail

from .message import build_message


class SmtpMailer:
    def __init__(self, host: str, port: int, sender: str, *, starttls: bool = True, username: str | None = None,
                 password: str | None = None, timeout: float = 30.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password, self.timeout = starttls, username, password, timeout

    def send(self, mail: Mail) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(build_message(mail, self.sender))


class FileMailer:
    """Writes each mail to ``<dir>/<message-id>.eml`` (a resend overwrites the same file)."""

    def __init__(self, directory: str | Path, sender: str) -> None:
        self.directory, self.sender = Path(directory), sender

    def path_for(self, mail: Mail) -> Path:
        name = "".join(c if c.isalnum() or c in "-._" else "_" for c in mail.message_id.strip("<>"))
        return self.directory / f"{name}.eml"

    def send(self, mail: Mail) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path_for(mail)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(build_message(mail, self.sender).as_bytes())
        tmp.replace(path)
