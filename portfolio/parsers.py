"""The API's JSON parser, which refuses a body nested deeper than any request of ours needs.

Python's json module and everything that walks its result recurse once per level: a body
of a thousand nested lists raised RecursionError, a 500. The nesting is counted first, in
one pass that skips over strings, so a deep body costs no more than reading it.
"""

import io
import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# The deepest request body the API takes (loan terms inside a tranche is 2); generous.
MAX_DEPTH = 32

# A JSON string (skipped whole, escapes included) or one bracket.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def depth(body: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (0 for a bare value)."""
    deepest = level = 0
    for token in _TOKENS.finditer(body):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            level += 1
            deepest = max(deepest, level)
        elif bracket in (b"]", b"}"):
            level -= 1
    return deepest


class DepthLimitedJSONParser(JSONParser):
    """JSONParser, after checking that the body nests at most MAX_DEPTH levels."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        # The count reads bytes; a body in UTF-16 or UTF-32 is counted as UTF-8.
        if encoding.lower().replace("-", "") not in ("utf8", "ascii"):
            counted = body.decode(encoding, errors="replace").encode()
        else:
            counted = body
        if depth(counted) > MAX_DEPTH:
            raise ParseError(f"The JSON body nests deeper than {MAX_DEPTH} levels.")
        return super().parse(io.BytesIO(body), media_type, parser_context)
