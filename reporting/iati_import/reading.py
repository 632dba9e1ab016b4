"""Reading an IATI activity file, without trusting it, and walking it with XPaths."""

# The file is not trusted: its size is checked before it is read, and it is parsed by defusedxml,
# which refuses any DTD, so neither entity expansion (a "billion laughs") nor external entities
# can run.

from collections import defaultdict
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.conf import settings
from django.utils.translation import gettext as _

from .. import iati
from .results import Refused

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def read(fileobj):
    name = str(getattr(fileobj, "name", "") or "")
    if name and not name.lower().endswith(".xml"):
        raise Refused(_("Upload an IATI activity file (.xml); other file types are not accepted."))
    limit = settings.MAX_UPLOAD_BYTES
    size = getattr(fileobj, "size", None)
    if size is not None and size > limit:
        raise Refused(size_refusal(size, limit))
    fileobj.seek(0)
    data = fileobj.read(limit + 1)  # never more than the limit into memory
    if len(data) > limit:
        raise Refused(size_refusal(None, limit))
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise Refused(
            _(
                "The file declares a DTD or entities, which an IATI file never needs; it is "
                "refused ({error})."
            ).format(error=type(error).__name__)
        ) from error
    except ParseError as error:
        line, column = getattr(error, "position", (0, 0))
        raise Refused(
            _("The file is not well-formed XML (line {line}, column {column}).").format(
                line=line, column=column
            )
        ) from error
    if root.tag != "iati-activities":
        raise Refused(
            _(
                "The file's root element is <{tag}>; an IATI activity file has <iati-activities>."
            ).format(tag=root.tag)
        )
    version = (root.get("version") or "").strip()
    if not version.startswith("2."):
        raise Refused(
            _("This is IATI version {version}; files of version 2.01 to 2.03 are imported.").format(
                version=version or "?"
            )
        )
    return root


def size_refusal(size, limit):
    mb = 1024 * 1024
    if size is None:
        return _("The file is larger than the limit of {limit:.0f} MB.").format(limit=limit / mb)
    return _("The file is {size:.1f} MB; the limit is {limit:.0f} MB.").format(
        size=size / mb, limit=limit / mb
    )


class Node:
    """An element with its XPath from the root (/iati-activities/iati-activity[2]/...)."""

    def __init__(self, element, path):
        self.element, self.path = element, path

    def all(self, tag):
        found, seen = [], defaultdict(int)
        for child in self.element:
            if not isinstance(child.tag, str):
                continue  # a comment or processing instruction
            seen[child.tag] += 1
            if child.tag == tag:
                found.append(Node(child, f"{self.path}/{_step(tag)}[{seen[tag]}]"))
        return found

    def first(self, tag):
        found = self.all(tag)
        return found[0] if found else None

    def get(self, name, default=""):
        return (self.element.get(name) or default).strip()

    def at(self, name):
        return f"{self.path}/@{name}"

    def narrative(self):
        """The first narrative's text, preferring English."""
        narratives = self.element.findall("narrative")
        english = [n for n in narratives if n.get(XML_LANG, "en") == "en"]
        for each in english or narratives:
            text = " ".join((each.text or "").split())
            if text:
                return text
        return ""


def _step(tag):
    return tag.replace(f"{{{iati.EXTENSION}}}", "tracker:")
