"""``jsonable_encoder``'s result, without its per-value keyword handling, for the plain values views are made of.

FastAPI's encoder walks every value of a response through a dozen ``isinstance`` checks and re-passes its
eight keyword arguments at each level (about 190 calls for one order's view; it runs three times per
mutation: the body's hash, the answer, the audit entry). Here dicts, lists, tuples, strings, numbers,
booleans, None, dates and datetimes (exact types) are converted as ``jsonable_encoder`` converts them;
any other value (enums, Decimals, models, sets …) is handed to ``jsonable_encoder`` itself, so the
result is the same (``tests/unit/test_api_encode.py``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi.encoders import jsonable_encoder

_AS_IS = frozenset({str, int, float, bool, type(None)})


def plain_json(value: Any) -> Any:
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is dict:  # jsonable_encoder's defaults: keys encoded too, string keys starting "_sa" left out
        return {plain_json(k): plain_json(v) for k, v in value.items()
                if not (isinstance(k, str) and k.startswith("_sa"))}
    if kind is list or kind is tuple:
        return [plain_json(v) for v in value]
    if kind is date or kind is datetime:
        return value.isoformat()
    return jsonable_encoder(value)
