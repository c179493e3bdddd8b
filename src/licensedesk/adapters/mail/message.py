"""A ``Mail`` as MIME (Japanese mail, shared/notes/japan.md §5): UTF-8 body in base64, RFC 2047 headers,
ASCII attachment file names."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, localtime

from licensedesk.services.ports_outbox import Mail


def build_message(mail: Mail, sender: str) -> EmailMessage:
    msg = EmailMessage()  # policy "default": non-ASCII headers become =?utf-8?b?…?= words
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = mail.message_id
    msg["Date"] = format_datetime(localtime())
    msg.set_content(mail.body, charset="utf-8", cte="base64")
    for item in mail.attachments:
        if not item.filename.isascii():
            raise ValueError(f"attachment names must be ASCII, got {item.filename!r}")
        maintype, subtype = item.mime_type.split("/", 1)
        msg.add_attachment(item.content, maintype=maintype, subtype=subtype, filename=item.filename)
    return msg
