"""One meaning for a LIKE pattern on SQLite and on PostgreSQL (`database.like`): every pattern asked of every
value by the database the suite runs on, against the rule written out here (`matches`): `%` any text, `_`
one character, a backslash takes the next character as it is (a lone one at the end: a backslash), case
counts."""
from __future__ import annotations

import itertools
import re

from sqlalchemy import literal, select

from app.database import like
from app.extensions import db


def matches(pattern: str, value: str) -> bool:
    """The rule, as a regular expression."""
    parts, chars = [], iter(pattern)
    for c in chars:
        parts.append(re.escape(next(chars, "\\")) if c == "\\" else ".*" if c == "%" else "." if c == "_"
                     else re.escape(c))
    return re.fullmatch("".join(parts), value, re.DOTALL) is not None


VALUES = ["x_y", "xzy", "x\\y", "xy", "p%q", "pzq", "ABC", "abc", "a\\", "a", "", "äb", "Äb", "50%-off",
          "50x-off", "line\nbreak", "%", "_", "\\"]
PATTERNS = ["x\\_y", "x\\\\y", "x\\y", "x_y", "p\\%q", "p%q", "%", "_", "", "a\\", "a\\\\", "A%", "a%", "abc",
            "%\\%%", "\\", "\\\\", "\\%", "\\_", "ä%", "_b", "%c", "line%", "%-off", "50\\%%", "\\a\\b\\c"]


def test_the_database_matches_every_pattern_by_the_rule(app):
    with app.app_context():
        asked = [like(literal(value), pattern) for value, pattern in itertools.product(VALUES, PATTERNS)]
        in_sql = db.session.execute(select(*asked)).one()
        db.session.rollback()
    disagree = [(value, pattern, bool(sql)) for (value, pattern), sql in zip(itertools.product(VALUES, PATTERNS),
                                                                              in_sql)
                if bool(sql) != matches(pattern, value)]
    assert disagree == []


def test_what_the_rule_says():
    assert [v for v in VALUES if matches("x\\_y", v)] == ["x_y"]
    assert [v for v in VALUES if matches("x\\y", v)] == ["xy"]  # an escaped y is a y
    assert [v for v in VALUES if matches("x\\\\y", v)] == ["x\\y"]
    assert [v for v in VALUES if matches("a\\", v)] == ["a\\"]  # a lone backslash at the end
    assert [v for v in VALUES if matches("a%", v)] == ["abc", "a\\", "a"]  # case counts
    assert [v for v in VALUES if matches("%\\%%", v)] == ["p%q", "50%-off", "%"]
