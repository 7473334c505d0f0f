"""Reference data: the public organisation directory of procuratorates (检察院名录)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters

from rulesvc.api.schemes import QueryArgs
from rulesvc.extensions import db
from rulesvc.services.directory import (
    LEVELS,
    ProcuratorateEntry,
    get_procuratorate,
    is_code,
    list_procuratorates,
)

blp = Blueprint(
    "procuratorates", __name__, url_prefix="/procuratorates", description="检察院名录 (Procuratorate directory)"
)

CODE_PATTERN = r"^[0-9]{6}$"


class ProcuratorateSchema(ma.Schema):
    """A procuratorate in the directory."""

    code = ma.fields.String(required=True, metadata={"description": "6 位行政区划代码 (6-digit region code)"})
    name = ma.fields.String(required=True)
    level = ma.fields.String(required=True, validate=ma.validate.OneOf(LEVELS))
    level_label = ma.fields.String(required=True, metadata={"description": "省级院 / 市级院 / 基层院"})
    parent_code = ma.fields.String(required=True, allow_none=True)


def _validate_code(value: str) -> None:
    if not is_code(value):
        raise ma.ValidationError("must be a 6-digit code")


class ProcuratorateQuerySchema(QueryArgs):
    """Filters of the directory listing."""

    level = ma.fields.String(validate=ma.validate.OneOf(LEVELS), metadata={"description": "Only this level"})
    parent = ma.fields.String(
        # Not validate.Regexp: its "$" lets a trailing newline through. The pattern only documents.
        validate=_validate_code,
        metadata={"description": "Only the direct children of this procuratorate (code)", "pattern": CODE_PATTERN},
    )


@blp.route("")
@blp.arguments(ProcuratorateQuerySchema, location="query", as_kwargs=True)
@blp.response(200, ProcuratorateSchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def list_directory(pagination_parameters: PaginationParameters, **filters: Any) -> list[ProcuratorateEntry]:
    """List procuratorates, ordered by code (paginated; see the X-Pagination header)."""
    items, total = list_procuratorates(
        db.session(),
        **filters,
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return items


@blp.route(
    "/<code>",
    parameters=[
        {"in": "path", "name": "code", "description": "6 位行政区划代码", "schema": {"type": "string", "pattern": CODE_PATTERN}}
    ],
)
@blp.response(200, ProcuratorateSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_one(code: str) -> ProcuratorateEntry:
    """One procuratorate by its code."""
    return get_procuratorate(db.session(), code)
