"""`database.json_array_holds`: a JSON array column holds a string, the same on SQLite and PostgreSQL, asked
of every value by the database the suite runs on against Python's answer."""
from __future__ import annotations

import itertools

from sqlalchemy import JSON, bindparam, select

from app.database import json_array_holds
from app.extensions import db

ARRAYS = [["sales"], ["sales", "support"], [], ["Sales"], ["sale"], ["sales "], ['a"b'], ["ä"], [1, "1"],
          [["sales"]], [None], {"sales": 1}, "sales", None, ["%", "_"], ["a\\b"]]
NAMES = ["sales", "Sales", "sale", "support", 'a"b', "ä", "1", "%", "_", "a\\b", ""]


def expected(array, name: str) -> bool:
    return isinstance(array, list) and any(isinstance(item, str) and item == name for item in array)


def test_the_database_finds_a_string_in_a_json_array_as_python_does(app):
    cases = list(itertools.product(range(len(ARRAYS)), NAMES))
    with app.app_context():
        asked = [json_array_holds(bindparam(f"a{i}_{n}", ARRAYS[i], type_=JSON), name)
                 for n, (i, name) in enumerate(cases)]
        answers = db.session.execute(select(*asked)).one()
        db.session.rollback()
    disagree = [(ARRAYS[i], name, bool(answer)) for (i, name), answer in zip(cases, answers)
                if bool(answer) != expected(ARRAYS[i], name)]
    assert disagree == []
