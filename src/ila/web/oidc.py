"""OpenID Connect login (relying party, Authlib): authorization code with PKCE (S256) and a
nonce, the issuer's keys and endpoints from its discovery document, the ID token checked
(signature, issuer, audience, expiry, nonce) and its assurance level (``acr``) required to
be one the platform accepts. The national number comes from a configurable claim."""

from __future__ import annotations

from typing import Any

from authlib.integrations.starlette_client import (  # type: ignore[import-untyped]
    OAuth,
    OAuthError,
)
from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from starlette.requests import Request

from ila.config import Settings
from ila.errors import DomainError
from ila.identity.domain import NationalNumber
from ila.web import auth


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    oauth = OAuth()
    oauth.register(
        name="ila",
        server_metadata_url=f"{str(settings.oidc_issuer).rstrip('/')}/.well-known/openid-configuration",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"},
    )
    callback = f"{settings.public_url.rstrip('/')}/auth/callback"

    @router.get("/login/oidc")
    async def start(request: Request) -> Response:
        client = oauth.create_client("ila")
        response: Response = await client.authorize_redirect(
            request, callback, acr_values=settings.oidc_acr_values
        )
        return response

    @router.get("/auth/callback")
    async def finish(request: Request) -> Response:
        client = oauth.create_client("ila")
        try:
            token: dict[str, Any] = await client.authorize_access_token(request)
        except OAuthError:
            return RedirectResponse("/login?error=oidc", status_code=303)
        claims: dict[str, Any] = dict(token.get("userinfo") or {})
        try:
            acr = auth.check_acr(claims, settings.oidc_accepted_acr)
        except auth.LoginRefused:
            return RedirectResponse("/login?error=acr", status_code=303)
        raw = claims.get(settings.oidc_national_number_claim)
        try:
            number = NationalNumber.parse(str(raw)).value
        except DomainError:
            return RedirectResponse("/login?error=identity", status_code=303)
        name = " ".join(str(claims.get(k, "")) for k in ("given_name", "family_name")).strip()
        auth.log_in(
            request,
            auth.WebUser(
                subject=str(claims["sub"]),
                name=name or number,
                national_number=number,
                method="oidc",
                acr=acr,
            ),
        )
        return RedirectResponse("/me", status_code=303)

    return router
