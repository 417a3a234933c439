"""The OpenAPI document says what the API really answers, errors included.

Every error of the API has one shape (``web/errors.py``: ``{"error": {"type", "message",
"field", "problems"}}``), 422 included: FastAPI's default ``HTTPValidationError`` would
describe a body we never send. Each operation under ``/api/`` documents the errors it can
give: 401 and 403 (who calls), 404 (a workspace or object not found, or not the caller's),
409 (a write that would break a uniqueness rule) and 422 (bad input, malformed JSON too).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorResponse",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "message", "field", "problems"],
            "properties": {
                "type": {"type": "string", "description": "e.g. validation_error, not_found"},
                "message": {"type": "string", "description": "What is wrong and how to fix it"},
                "field": {"type": ["string", "null"], "description": "The culprit, if any"},
                "problems": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        }
    },
}
ERROR_DESCRIPTIONS = {
    "401": "No token, or an unknown, expired or revoked one",
    "403": "The caller's role (or token) does not allow this",
    "404": "No such workspace or object among the caller's",
    "409": "Would break a uniqueness rule, or the object is in another state",
    "422": "Bad input (including malformed JSON): nothing was written",
    "413": "The upload is larger than TOWNSQUARE_MAX_UPLOAD_MB",
    "429": "Too many attempts, or a network's rate limit: retry after Retry-After seconds",
    "502": "A network (Mastodon, Bluesky, a feed, a platform) failed, timed out or refused",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def document_errors(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the error responses of every API operation (changed in place)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorResponse"] = ERROR_SCHEMA
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    reference = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, operations in document.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method not in (*WRITE_METHODS, "get", "head"):
                continue
            codes = ["401", "403", "404", "422"]
            if method in WRITE_METHODS:
                # Writes may call a network (connect, check, sync, poll, send) on the way.
                codes += ["409", "429", "502"]
                if "/imports" in path:
                    codes.append("413")
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses[code] = {
                    "description": ERROR_DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": reference}},
                }
    return document


def install(app: FastAPI) -> None:
    """Serve the document with the errors added (built once, on first request)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
