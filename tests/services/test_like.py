"""One meaning for a LIKE pattern wherever it is matched: in SQL on SQLite, in SQL on PostgreSQL
(`database.like`), and in Python for what is filtered after reading (`history._like_matcher`, a variable's
name). Every pattern is asked of every value both ways, on the database the suite runs on."""
from __future__ import annotations

import itertools

from sqlalchemy import literal, select

from app.database import like
from app.extensions import db
from app.services.history import _like_matcher

VALUES = ["x_y", "xzy", "x\\y", "xy", "p%q", "pzq", "ABC", "abc", "a\\", "a", "", "äb", "Äb", "50%-off",
          "50x-off", "line\nbreak", "%", "_", "\\"]
PATTERNS = ["x\\_y", "x\\\\y", "x\\y", "x_y", "p\\%q", "p%q", "%", "_", "", "a\\", "a\\\\", "A%", "a%", "abc",
            "%\\%%", "\\", "\\\\", "\\%", "\\_", "ä%", "_b", "%c", "line%", "%-off", "50\\%%", "\\a\\b\\c"]


def test_sql_and_python_agree_on_every_pattern(app):
    with app.app_context():
        asked = [like(literal(value), pattern) for value, pattern in itertools.product(VALUES, PATTERNS)]
        in_sql = db.session.execute(select(*asked)).one()
        db.session.rollback()
    disagree = [(value, pattern, bool(sql)) for (value, pattern), sql in zip(itertools.product(VALUES, PATTERNS),
                                                                              in_sql)
                if bool(sql) != _like_matcher(pattern)(value)]
    assert disagree == []


def test_what_the_patterns_mean():
    assert [v for v in VALUES if _like_matcher("x\\_y")(v)] == ["x_y"]
    assert [v for v in VALUES if _like_matcher("x\\y")(v)] == ["xy"]  # an escaped y is a y
    assert [v for v in VALUES if _like_matcher("x\\\\y")(v)] == ["x\\y"]
    assert [v for v in VALUES if _like_matcher("a\\")(v)] == ["a\\"]  # a lone backslash at the end
    assert [v for v in VALUES if _like_matcher("a%")(v)] == ["abc", "a\\", "a"]  # case counts
    assert [v for v in VALUES if _like_matcher("%\\%%")(v)] == ["p%q", "50%-off", "%"]
