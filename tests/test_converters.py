"""Converters whose accept() takes a faster route than their regex still give its answers."""

import re

from hypothesis import example, given
from hypothesis import strategies as st

from asgilab.converters import INT


@given(st.text() | st.from_regex(r"[0-9]{1,30}", fullmatch=True))
@example("\uff14\uff12")  # full-width digits: int() takes them, the regex does not
@example("\u00b2")  # a superscript two: str.isdigit() says yes
@example("-1")
@example("")
def test_int_accepts_exactly_what_its_regex_matches(text: str) -> None:
    expected = int(text) if re.fullmatch(INT.regex, text) else None
    assert INT.accept(text) == expected
