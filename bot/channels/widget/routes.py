"""GET /webhooks/socketio/widget.js, widget.css, chat.html and chat.js on the Rasa server:
the widget is served from the same server the chat connects to, so a municipality's page
needs one script tag and no other origin (no CDN).

The loader and the stylesheet are loaded by other sites' pages. The chat's page and script
are the bot's own: the page may be framed only by the sites in WIDGET_ORIGINS (CSP
frame-ancestors), and only that page's origin may open the chat's socket (bot/channels/socketio.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.widget.assets import Asset, assets
from bot.settings import Settings

# Browsers revalidate after five minutes (a 304 when unchanged), so an update reaches
# every page soon.
CACHE_CONTROL = "public, max-age=300"
DEFAULT_PORTS = {"http": 80, "https": 443}


def chat_origin(settings: Settings) -> str:
    """The origin of the chat's frame as browsers see it (BOT_PUBLIC_URL), as a browser
    writes it in an Origin header: no path, no default port."""
    parts = urlsplit(settings.bot_public_url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = "" if parts.port in (None, DEFAULT_PORTS.get(parts.scheme)) else f":{parts.port}"
    return f"{parts.scheme}://{host}{port}"


def chat_page_policy(settings: Settings) -> str:
    """The chat page loads only its own files, connects only to its own server, and may be
    shown only in a frame of the sites allowed to embed it (empty WIDGET_ORIGINS: any)."""
    origin = chat_origin(settings)
    socket_origin = origin.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    ancestors = " ".join(settings.widget_origins) or "*"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"connect-src 'self' {socket_origin}; "
        f"base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    )


def asset_response(request: Request, asset: Asset, headers: dict[str, str]) -> HTTPResponse:
    headers = {
        "ETag": asset.etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        **headers,
    }
    if request.headers.get("if-none-match") == asset.etag:
        return HTTPResponse(status=304, headers=headers)
    return HTTPResponse(asset.body, status=200, headers=headers, content_type=asset.content_type)


def asset_headers(settings: Settings) -> dict[str, dict[str, str]]:
    # The loader and its stylesheet are meant to be loaded by other sites' pages; the
    # chat's script only by the chat's page.
    shared = {"Cross-Origin-Resource-Policy": "cross-origin"}
    own = {"Cross-Origin-Resource-Policy": "same-origin"}
    return {
        "widget.js": shared,
        "widget.css": shared,
        "chat.js": own,
        "chat.html": {"Content-Security-Policy": chat_page_policy(settings)},
    }


def add_widget_routes(
    blueprint: Blueprint, settings: Settings, channel: tuple[tuple[str, str], ...]
) -> None:
    headers = asset_headers(settings)

    def serve(name: str):
        async def handler(request: Request) -> HTTPResponse:
            return asset_response(request, assets(settings, channel)[name], headers[name])

        return handler

    for name in headers:
        route_name = "widget_" + name.replace(".", "_")
        blueprint.add_route(serve(name), f"/{name}", methods=["GET"], name=route_name)
