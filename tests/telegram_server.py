"""A test Bot API server on 127.0.0.1 that speaks HTTP as Telegram does.

python-telegram-bot is pointed at it through `base_url` (TELEGRAM_API_BASE_URL)::

    with BotAPIServer(token) as server:
        settings = ...(TELEGRAM_API_BASE_URL=server.base_url)
        server.command(chat, user, "/pending")          # inject updates from chosen users
        server.press(chat, user, message_id, data)      # a callback query on a bot message
        server.reply(chat, user, "text", to=message_id)
        server.throttle("sendMessage", {2, 3}, retry_after=1)   # 429 for those calls

It reads form-encoded (what PTB sends; `reply_markup` is a JSON string), JSON and multipart
bodies; keeps each chat's messages (so edits can be checked); answers getUpdates by long polling
(capped at `max_poll` seconds so tests stay fast); and records every call in order.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_USER = {"id": 999000, "is_bot": True, "first_name": "Monitor", "username": "monitor_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False}
_JSON_FIELDS = {"reply_markup", "commands", "allowed_updates", "entities", "reply_parameters",
                "link_preview_options", "scope"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int = 200
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    calls: set[int]  # 1-based numbers of that method's calls to fail
    status: int = 429
    retry_after: int = 1


class BotAPIServer:
    def __init__(self, token: str, *, max_poll: float = 0.3) -> None:
        self.token = token
        self.max_poll = max_poll
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.commands: list[dict[str, str]] = []
        self.documents: list[dict[str, Any]] = []
        self.delays: dict[str, float] = {}
        self.refused: list[tuple[str, str]] = []  # (text, why) of messages refused as Telegram would
        self._faults: dict[str, Fault] = {}
        self._counts: dict[str, int] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = {}
        self._cond = threading.Condition()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.api = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/bot"

    def __enter__(self) -> BotAPIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- what the test does ------------------------------------------------------------------
    def throttle(self, method: str, calls: set[int], retry_after: int = 1) -> None:
        """Answer those calls of `method` (1-based, counted from now on) with 429."""
        with self._cond:
            base = self._counts.get(method, 0)
            self._faults[method] = Fault({base + n for n in calls}, 429, retry_after)

    def fail(self, method: str, calls: set[int], status: int = 502) -> None:
        with self._cond:
            base = self._counts.get(method, 0)
            self._faults[method] = Fault({base + n for n in calls}, status)

    def command(self, chat: int, user: int, text: str) -> int:
        command = text.split()[0]
        return self.send(chat, user, text, entities=[{"type": "bot_command", "offset": 0,
                                                      "length": len(command)}])

    def send(self, chat: int, user: int, text: str, *, to: int | None = None,
             entities: list[dict[str, Any]] | None = None) -> int:
        """A user's message in the chat (a reply when `to` is a message id)."""
        with self._cond:
            message = self._message(chat, _user(user), text=text)
            if entities:
                message["entities"] = entities
            if to is not None:
                message["reply_to_message"] = self.messages[(chat, to)]
            self.messages[(chat, message["message_id"])] = message
            self._push({"message": message})
        return message["message_id"]

    reply = send

    def press(self, chat: int, user: int, message_id: int, data: str) -> str:
        """A callback query: `user` pressed the button carrying `data` on that message."""
        with self._cond:
            query_id = f"q{next(self._update_ids)}"
            self._push({"callback_query": {
                "id": query_id, "from": _user(user), "chat_instance": f"ci{chat}", "data": data,
                "message": self.messages[(chat, message_id)]}})
        return query_id

    def bot_messages(self, chat: int) -> list[dict[str, Any]]:
        """The bot's messages in the chat as they stand now (after edits), oldest first."""
        with self._cond:
            return [m for (c, _), m in sorted(self.messages.items())
                    if c == chat and m["from"]["id"] == BOT_USER["id"]]

    def calls_of(self, method: str, ok: bool = True) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and (c.status == 200 or not ok)]

    # --- the Bot API -------------------------------------------------------------------------
    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        time.sleep(self.delays.get(method, 0))
        with self._cond:
            self._counts[method] = n = self._counts.get(method, 0) + 1
            fault = self._faults.get(method)
            if fault and n in fault.calls:
                self.calls.append(Call(method, params, fault.status))
                return fault.status, _error(fault.status, fault.retry_after)
            if method != "getUpdates":
                self.calls.append(Call(method, params))
            handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        return handler(params)

    def _api_getUpdates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), self.max_poll)
        deadline = time.monotonic() + wait
        with self._cond:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            return 200, {"ok": True, "result": list(self._updates[:100])}

    def _api_getMe(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        return _ok(BOT_USER)

    def _api_deleteWebhook(self, params: dict[str, Any]):  # noqa: N802
        return _ok(True)

    def _api_setMyCommands(self, params: dict[str, Any]):  # noqa: N802
        with self._cond:
            self.commands = list(params.get("commands") or [])
        return _ok(True)

    def _api_getMyCommands(self, params: dict[str, Any]):  # noqa: N802
        return _ok(self.commands)

    def _api_answerCallbackQuery(self, params: dict[str, Any]):  # noqa: N802
        return _ok(True)

    def _api_sendMessage(self, params: dict[str, Any]):  # noqa: N802
        chat = int(params["chat_id"])
        problem = message_problem(params.get("text", ""), params.get("parse_mode"))
        if problem:
            self.refused.append((params.get("text", ""), problem))
            return 400, _bad(problem)
        with self._cond:
            message = self._message(chat, BOT_USER, text=params["text"])
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            self.messages[(chat, message["message_id"])] = message
        return _ok(message)

    def _api_sendDocument(self, params: dict[str, Any]):  # noqa: N802
        chat = int(params["chat_id"])
        upload = params.get("document") or {}
        with self._cond:
            message = self._message(chat, BOT_USER, document={
                "file_id": f"f{len(self.documents)}", "file_unique_id": f"u{len(self.documents)}",
                "file_name": upload.get("filename"), "file_size": len(upload.get("data", b""))})
            if params.get("caption"):
                message["caption"] = params["caption"]
            self.documents.append({"chat": chat, **upload})
            self.messages[(chat, message["message_id"])] = message
        return _ok(message)

    def _api_editMessageText(self, params: dict[str, Any]):  # noqa: N802
        problem = message_problem(params.get("text", ""), params.get("parse_mode"))
        if problem:
            self.refused.append((params.get("text", ""), problem))
            return 400, _bad(problem)
        return self._edit(params, text=params["text"])

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]):  # noqa: N802
        return self._edit(params)

    def _edit(self, params: dict[str, Any], **changes: Any) -> tuple[int, dict[str, Any]]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        with self._cond:
            message = self.messages.get(key)
            if message is None:
                return 400, _bad("message to edit not found")
            changes["reply_markup"] = params.get("reply_markup") or {"inline_keyboard": []}
            if all(message.get(k) == v for k, v in changes.items()):
                return 400, _bad("message is not modified: specified new message content and "
                                 "reply markup are exactly the same")
            message.update(changes, edit_date=int(time.time()))
        return _ok(message)

    # --- helpers -----------------------------------------------------------------------------
    def _message(self, chat: int, sender: dict[str, Any], **content: Any) -> dict[str, Any]:
        ids = self._message_ids.setdefault(chat, itertools.count(1))
        kind = "private" if chat > 0 else "supergroup"
        chat_obj = {"id": chat, "type": kind, **({"title": "Editors"} if chat < 0 else
                                                 {"first_name": "Editor"})}
        return {"message_id": next(ids), "date": int(time.time()), "chat": chat_obj,
                "from": sender, **content}

    def _push(self, update: dict[str, Any]) -> None:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        self._cond.notify_all()


# Telegram's HTML: these tags only (a needs href), properly nested, every other < > & escaped,
# and at most 4096 UTF-16 code units of text once the entities are parsed.
_HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
              "tg-spoiler", "span", "blockquote", "tg-emoji"}
_ENTITY = re.compile(r"&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")


def message_problem(text: str, parse_mode: str | None) -> str:
    """Why Telegram would refuse this text ("" when it would accept it)."""
    if "\x00" in text:
        return "text must be encoded in UTF-8"  # what Telegram answers for a NUL
    visible = text
    if (parse_mode or "").upper() == "HTML":
        visible, problem = _parse_html(text)
        if problem:
            return f"can't parse entities: {problem}"
    if not visible.strip():
        return "message text is empty"
    if len(visible.encode("utf-16-le", "surrogatepass")) // 2 > 4096:
        return "message is too long"
    return ""


def _parse_html(text: str) -> tuple[str, str]:
    out, stack, pos = [], [], 0
    for match in re.finditer(r"<(/?)([a-zA-Z-]*)((?:\s[^<>]*)?)>|[<>]|&", text):
        out.append(text[pos:match.start()])
        pos = match.end()
        token = match.group(0)
        if token == "&":
            entity = _ENTITY.match(text, match.start())
            if not entity:
                return "", f"unsupported start of an entity at byte offset {match.start()}"
            out.append(html.unescape(entity.group(0)))
            pos = entity.end()
            continue
        if token in "<>":
            return "", f"unexpected {token!r} at byte offset {match.start()}"
        closing, tag = match.group(1), match.group(2).lower()
        if tag not in _HTML_TAGS:
            return "", f"unsupported tag \"{tag}\" at byte offset {match.start()}"
        if closing:
            if not stack or stack.pop() != tag:
                return "", f"unmatched end tag at byte offset {match.start()}, expected \"</{stack[-1] if stack else ''}>\""
        else:
            if tag == "a" and "href=" not in match.group(3):
                return "", "a tag without href"
            stack.append(tag)
    out.append(text[pos:])
    if stack:
        return "", f"can't find end tag corresponding to start tag \"{stack[-1]}\""
    return "".join(out), ""


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}


def _ok(result: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"ok": True, "result": result}


def _bad(description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}


def _error(status: int, retry_after: int) -> dict[str, Any]:
    if status == 429:
        return {"ok": False, "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after}}
    if status == 400:
        return _bad("can't parse entities: injected by the test")
    if status == 403:
        return {"ok": False, "error_code": 403,
                "description": "Forbidden: bot was kicked from the supergroup chat"}
    return {"ok": False, "error_code": status, "description": "Bad Gateway"}


def parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Form-encoded, JSON or multipart parameters; JSON-valued fields decoded."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        return json.loads(body or b"{}")
    if kind == "multipart/form-data":
        params = _multipart(content_type, body)
    else:
        params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for name in _JSON_FIELDS & params.keys():
        if isinstance(params[name], str):
            params[name] = json.loads(params[name])
    return params


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    params: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        data = part.get_payload(decode=True) or b""
        params[name] = ({"filename": filename, "data": data} if filename
                        else data.decode("utf-8"))
    return params


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        api: BotAPIServer = self.server.api  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != f"bot{api.token}":
            status, payload = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        else:
            params = parse_body(self.headers.get("Content-Type", ""), body)
            status, payload = api.handle(parts[1], params)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a stopped poll)
            pass

    do_GET = do_POST  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass
