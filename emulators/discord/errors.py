"""Discord's JSON error bodies (code, message and, for form errors, the nested `errors` tree)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulators.base import json_response

UNKNOWN_CHANNEL = 10003
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_USER = 10013
NOT_AUTHORIZED_APP = 20012
MISSING_ACCESS = 50001
CANNOT_EDIT_OTHERS = 50005
EMPTY_MESSAGE = 50006
MISSING_PERMISSIONS = 50013
WRONG_CHANNEL_TYPE = 50024
INVALID_RECIPIENT = 50033
INVALID_FORM_BODY = 50035
THREAD_ALREADY_EXISTS = 160004


def error(status: int, code: int, message: str) -> web.Response:
    return json_response({"message": message, "code": code}, status=status)


def unauthorized() -> web.Response:
    return error(401, 0, "401: Unauthorized")


def not_found() -> web.Response:
    return error(404, 0, "404: Not Found")


def unknown_channel() -> web.Response:
    return error(404, UNKNOWN_CHANNEL, "Unknown Channel")


def unknown_message() -> web.Response:
    return error(404, UNKNOWN_MESSAGE, "Unknown Message")


def form_error(path: str, code: str, message: str) -> web.Response:
    """400 Invalid Form Body with the error under `path` ("embeds.0.description")."""
    leaf: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        leaf = {part: leaf}
    body = {"message": "Invalid Form Body", "code": INVALID_FORM_BODY, "errors": leaf}
    return json_response(body, status=400)


def too_long(path: str, limit: int) -> web.Response:
    return form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
