"""requests-oauthlib's password grant (LegacyApplicationClient + fetch_token)
and refresh against the sandbox's Centili Keycloak realm, then the token on
the Data Gifting API. Run by clients/clients_test.go:

    /usr/bin/python3 oauthlib_password.py '{"tokenUrl": "https://127.0.0.1:8443/...", ...}'

with REQUESTS_CA_BUNDLE naming the sandbox's CA and without
OAUTHLIB_INSECURE_TRANSPORT (oauthlib refuses an http:// token URL without
it). Prints one JSON object.
"""
import base64
import json
import sys

import oauthlib
import requests_oauthlib
from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session

cfg = json.loads(sys.argv[1])


def claims_of(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# The session's scope is what oauthlib compares the answer's scope with; the
# request carries only the scope given to fetch_token, so both get it.
scope = cfg.get("scope")
session = OAuth2Session(client=LegacyApplicationClient(client_id=cfg["clientId"]), scope=scope)
# Without auth, fetch_token sends the client as HTTP Basic (client_secret ""
# for a public client), as requests-oauthlib does by default.
token = session.fetch_token(
    cfg["tokenUrl"], username=cfg["username"], password=cfg["password"],
    client_secret=cfg.get("clientSecret"), timeout=10,
    **({"scope": scope} if scope else {}))
first = dict(token)
refreshed = session.refresh_token(
    cfg["tokenUrl"], auth=(cfg["clientId"], cfg.get("clientSecret") or ""), timeout=10)
answer = session.get(cfg["resourceUrl"], timeout=10)

# TODO(keycloak helper): once Centili serves userinfo, introspection,
# revocation and logout, call them here with this session.

print(json.dumps({
    "token_type": first["token_type"],
    "expires_in": first["expires_in"],
    "refresh_expires_in": first.get("refresh_expires_in"),
    "scope": first.get("scope"),
    "id_token": "id_token" in first,
    "claims": claims_of(first["access_token"]),
    "refreshed": {"claims": claims_of(refreshed["access_token"]),
                  "rotated": refreshed["refresh_token"] != first["refresh_token"]},
    "resource": {"status": answer.status_code, "body": answer.json()},
    "version": {"requests-oauthlib": requests_oauthlib.__version__, "oauthlib": oauthlib.__version__},
}))
