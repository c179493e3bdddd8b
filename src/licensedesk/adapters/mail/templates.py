"""Notice templates: one Jinja2 file per kind with blocks ``subject_ja``, ``body_ja``, ``subject_en``, ``body_en``."""

from __future__ import annotations

from importlib import resources
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

FALLBACK = "_default.txt"


class JinjaMailTemplates:
    def __init__(self) -> None:
        path = str(resources.files("licensedesk.adapters.mail").joinpath("templates"))
        self.env = Environment(loader=FileSystemLoader(path), autoescape=False, undefined=StrictUndefined,
                               keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)

    def kinds(self) -> list[str]:
        return sorted(n.removesuffix(".txt") for n in self.env.list_templates() if not n.startswith("_"))

    def render(self, kind: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
        try:
            template = self.env.get_template(f"{kind}.txt")
        except TemplateNotFound:
            template = self.env.get_template(FALLBACK)
        ctx = template.new_context({**context, "kind": kind, "language": language})
        subject = "".join(template.blocks[f"subject_{language}"](ctx)).strip()
        body = "".join(template.blocks[f"body_{language}"](ctx)).strip() + "\n"
        return " ".join(subject.split()), body
