"""The SASL initial responses of XOAUTH2 (Google's and Microsoft's) and OAUTHBEARER (RFC 7628)."""

from __future__ import annotations


def xoauth2(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauthbearer(user: str, token: str) -> str:
    # RFC 5801's GS2 header names the user; ',' and '=' are escaped there.
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={authzid},\x01auth=Bearer {token}\x01\x01"


def initial_response(mechanism: str, user: str, token: str) -> str:
    return oauthbearer(user, token) if mechanism == "oauthbearer" else xoauth2(user, token)
