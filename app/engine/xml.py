"""Reading untrusted XML.

Uploaded diagrams are hostile until proven otherwise. lxml is asked not to
resolve entities, load DTDs or touch the network, and any document carrying a
DOCTYPE is refused outright: BPMN and DMN never need one, and refusing it
closes external-entity (XXE) reads and entity-expansion bombs before any
expansion happens.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=False,
)


_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_NO_DOCTYPE = "DOCTYPE declarations are not accepted (entities and DTDs are refused)"


@dataclass
class Problem:
    """One thing wrong with one uploaded file."""

    file: str
    message: str
    line: int | None = None
    element_id: str | None = None
    element_type: str | None = None
    field: str | None = None  # the form field a problem is about

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass
class XmlRejected(Exception):
    """The upload cannot even be read as a safe XML document."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:  # pragma: no cover - debugging aid
        return "; ".join(p.message for p in self.problems)


def parse_untrusted(content: bytes, filename: str) -> etree._Element:
    """Parse bytes into an element tree, refusing DTDs and entities.

    Raises:
        XmlRejected: not XML, or a document with a DOCTYPE.
    """
    if isinstance(content, str):
        content = content.encode("utf-8")
    if _DOCTYPE.search(content):
        # Refused before parsing: no entity is ever declared, let alone expanded.
        raise XmlRejected([Problem(filename, _NO_DOCTYPE, content[: _DOCTYPE.search(content).start()].count(b"\n") + 1)])
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise XmlRejected([Problem(filename, f"not well-formed XML: {exc.msg}", line)]) from None
    if root is None:
        raise XmlRejected([Problem(filename, "empty document")])
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlRejected([
            Problem(filename, _NO_DOCTYPE, 1)
        ])
    return root


def element_at(root: etree._Element, line: int | None) -> etree._Element | None:
    """Return the innermost element with an id that starts on `line`."""
    if line is None:
        return None
    found = None
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.sourceline == line and el.get("id"):
            found = el
        elif el.sourceline and el.sourceline > line:
            break
    return found


def local_name(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""
