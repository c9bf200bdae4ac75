"""A small client for Rasa's JWT-protected HTTP API, used by the action server."""

from __future__ import annotations

import logging
import time

import aiohttp
import jwt

logger = logging.getLogger(__name__)

TOKEN_LIFETIME_SECONDS = 300
REQUEST_TIMEOUT_SECONDS = 5


def service_token(secret: str, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    payload = {
        "user": {"username": "vagvisaren-action-server", "role": "admin"},
        "iat": issued,
        "exp": issued + TOKEN_LIFETIME_SECONDS,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


class RasaParser:
    """Classifies a text with POST /model/parse. Failures count as "not recognised"."""

    def __init__(self, base_url: str, jwt_secret: str):
        self.url = f"{base_url.rstrip('/')}/model/parse"
        self.jwt_secret = jwt_secret

    async def __call__(self, text: str) -> tuple[str | None, float]:
        headers = {"Authorization": f"Bearer {service_token(self.jwt_secret)}"}
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(self.url, json={"text": text}, headers=headers) as response,
            ):
                response.raise_for_status()
                intent = (await response.json()).get("intent") or {}
        except (aiohttp.ClientError, TimeoutError) as error:
            # The first question is still answered; only the extra ones are lost.
            logger.warning("Could not classify a clause: %s", type(error).__name__)
            return None, 0.0
        return intent.get("name"), float(intent.get("confidence") or 0.0)
