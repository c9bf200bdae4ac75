"""GET /webhooks/socketio/widget.js and widget.css on the Rasa server: the widget is served
from the same server the chat connects to, so a municipality's page needs one script tag
and no other origin (no CDN)."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.settings import Settings
from bot.widget.assets import Asset, assets

# Browsers revalidate after five minutes (a 304 when unchanged), so an update reaches
# every page soon.
CACHE_CONTROL = "public, max-age=300"


def asset_response(request: Request, asset: Asset) -> HTTPResponse:
    headers = {
        "ETag": asset.etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        # The files are meant to be loaded by other sites' pages.
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Referrer-Policy": "no-referrer",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return HTTPResponse(status=304, headers=headers)
    return HTTPResponse(asset.body, status=200, headers=headers, content_type=asset.content_type)


def add_widget_routes(
    blueprint: Blueprint, settings: Settings, channel: tuple[tuple[str, str], ...]
) -> None:
    async def widget_script(request: Request) -> HTTPResponse:
        return asset_response(request, assets(settings, channel)["widget.js"])

    async def widget_stylesheet(request: Request) -> HTTPResponse:
        return asset_response(request, assets(settings, channel)["widget.css"])

    blueprint.add_route(widget_script, "/widget.js", methods=["GET"], name="widget_script")
    blueprint.add_route(widget_stylesheet, "/widget.css", methods=["GET"], name="widget_stylesheet")
