"""A request schema's refusals carry a stable code per field message (``field_codes`` of a 422): the kind of
marshmallow's message, so that a machine need not read words in either language."""

from __future__ import annotations

import marshmallow as ma
import pytest

from rulesvc.schema.messages import code_of


class Form(ma.Schema):
    period = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^\d{4}$", error="须写年份 (a year)"))
    n = ma.fields.Integer(validate=ma.validate.Range(min=1, max=5))
    kind = ma.fields.String(validate=ma.validate.OneOf(["a", "b"]))
    name = ma.fields.String(validate=ma.validate.Length(max=3), allow_none=False)
    x = ma.fields.Float()


@pytest.mark.parametrize(("data", "field", "code"), [
    ({}, "period", "field.required"),
    ({"period": "20x"}, "period", "field.invalid"),  # the field's own words
    ({"period": "2020", "n": 9}, "n", "field.out_of_range"),
    ({"period": "2020", "n": "many"}, "n", "field.type"),
    ({"period": "2020", "kind": "c"}, "kind", "field.one_of"),
    ({"period": "2020", "name": "long name"}, "name", "field.length"),
    ({"period": "2020", "name": None}, "name", "field.null"),
    ({"period": "2020", "x": "nan"}, "x", "field.not_a_number"),
    ({"period": "2020", "colour": 1}, "colour", "field.unknown"),
])
def test_each_kind_of_refusal_has_its_code(data, field, code):
    with pytest.raises(ma.ValidationError) as info:
        Form().load(data)
    assert [code_of(m) for m in info.value.messages[field]] == [code]
