"""Numeric defaults: `specgen check` accepts exactly the literals PostgreSQL can store in the column.

generator/load/semantics/fields.py judges `default:` of a numeric(p,s) field without a database (round half away
from zero to s decimals, then at most p-s integer digits); this holds that judgement against a real server
casting the very literal the SQL carries (`repr` of the YAML number, generator/ir/values.py `literal`).
"""
from __future__ import annotations

import psycopg
import pytest

from generator.load.semantics import _numeric_fits
from generator.sqltypes import parse_type

TYPES = ["numeric(4,2)", "numeric(3,2)", "numeric(3,0)", "numeric(5,5)", "numeric(1,0)", "numeric(10,3)",
         "numeric(2,1)", "numeric", "numeric(20,0)"]
VALUES = [0, 1, -1, 9, 10, 99.99, 99.994, 99.995, -99.995, 1.005, 9.995, 9.994999, 123.456, 0.5, 0.05,
          0.000005, 0.999995, 0.999994, 1e-10, 1e19, 1e20, 1.5e3, 10 ** 19, -(10 ** 20), 999, 1000, -999.5,
          12345678901234567890, 0.1 + 0.2]


@pytest.fixture(scope="module")
def pg(pg_cluster):
    name = pg_cluster.create_database(prefix="defaults")
    with psycopg.connect(pg_cluster.url_for(name), autocommit=True) as conn:
        yield conn
    pg_cluster.drop_database(name)


@pytest.mark.db
def test_numeric_defaults_fit_as_postgresql_says(pg):
    wrong = []
    for type_text in TYPES:
        for value in VALUES:
            try:
                pg.execute(f"select {value!r}::{type_text}")
                stored = True
            except psycopg.errors.NumericValueOutOfRange:
                stored = False
            if _numeric_fits(value, parse_type(type_text)) != stored:
                wrong.append(f"{value!r} in {type_text}: PostgreSQL {'stores' if stored else 'refuses'} it")
    assert not wrong, "\n".join(wrong)
