"""``function_app`` with the chat registered: what ``func start`` (and the Functions host in Azure)
will index. (What importing an app loads and logs: ``tests/adapter/test_function_app.py``.)"""

from __future__ import annotations

import azure.functions as func

import function_app
from tests.app_index import get_functions


def test_the_app_lists_the_chat_functions_with_routes_methods_and_auth_levels() -> None:
    listed = {
        f.get_function_name(): (
            f.get_trigger().route,
            sorted(str(m.value) for m in f.get_trigger().methods),
            f.get_trigger().auth_level,
        )
        for f in get_functions(function_app.app)
    }
    anonymous = func.AuthLevel.ANONYMOUS
    assert listed == {
        "chat_validate": ("chat/validate", ["GET", "OPTIONS"], anonymous),
        "chat_connect": ("chat/connect", ["POST"], anonymous),
        "chat_connected": ("chat/connected", ["POST"], anonymous),
        "chat_disconnected": ("chat/disconnected", ["POST"], anonymous),
        "chat_message": ("chat/message", ["POST"], anonymous),
        "chat_chat": ("chat/chat", ["POST"], anonymous),
        "chat_history": ("chat/history", ["POST"], anonymous),
        "chat_members": ("chat/members", ["POST"], anonymous),
        "chat_typing": ("chat/typing", ["POST"], anonymous),
        "chat_rooms": ("chat/rooms", ["POST"], anonymous),
        "chat_open": ("chat/open", ["POST"], anonymous),
        "chat_create": ("chat/create", ["POST"], anonymous),
        "chat_dm": ("chat/dm", ["POST"], anonymous),
        "chat_invite": ("chat/invite", ["POST"], anonymous),
        "chat_remove": ("chat/remove", ["POST"], anonymous),
        "chat_role": ("chat/role", ["POST"], anonymous),
        "chat_edit": ("chat/edit", ["POST"], anonymous),
        "chat_delete": ("chat/delete", ["POST"], anonymous),
        "chat_react": ("chat/react", ["POST"], anonymous),
        "chat_read": ("chat/read", ["POST"], anonymous),
        "negotiate": ("negotiate", ["GET"], anonymous),
        "index": ("index", ["GET"], anonymous),
        "static": ("static/{name}", ["GET"], anonymous),
        "home": ("{*path}", ["GET"], anonymous),
    }
