"""requests-oauthlib's password grant (LegacyApplicationClient +
fetch_token) and refresh against the sandbox's Centili Keycloak, over
HTTPS, without OAUTHLIB_INSECURE_TRANSPORT.

Usage: REQUESTS_CA_BUNDLE=ca.pem python3 oauthlib_password.py HTTPS_BASE CLIENT_ID USER PASSWORD [SCOPE]
Prints one JSON object: both access tokens' claims and the granted scope.

SCOPE (space-separated) is asked for and set as the session's scope, which
oauthlib compares with the answer's: Keycloak adds the client's default
scopes (email profile), so anything short of all of them raises oauthlib's
"Scope has changed" Warning.
"""
import base64
import json
import os
import sys

from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session

base, client_id, user, password = sys.argv[1:5]
scope = sys.argv[5].split() if len(sys.argv) > 5 else None
assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ, "the point is HTTPS without the insecure switch"
token_url = base + "/centili/realms/api/protocol/openid-connect/token"


def claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


session = OAuth2Session(client=LegacyApplicationClient(client_id=client_id), scope=scope)
# datagifting is a public client: its id goes in the form, with no secret.
# The session's scope is only compared with the answer's; fetch_token sends
# the scope it is given.
token = session.fetch_token(token_url, username=user, password=password,
                            client_id=client_id, include_client_id=True, timeout=10,
                            **({"scope": scope} if scope else {}))
refreshed = session.refresh_token(token_url, client_id=client_id, timeout=10)
# TODO(centili userinfo/introspect/logout/revoke): once Keycloak's endpoints
# are in the sandbox, call userinfo with session.get (the bearer token) and
# revoke/logout with session.post here, and report their status codes.
print(json.dumps({
    "claims": claims(token["access_token"]),
    "refreshed": claims(refreshed["access_token"]),
    "same_access_token": token["access_token"] == refreshed["access_token"],
    "expires_in": token.get("expires_in"),
    "scope": token.get("scope"),
    "id_token": "id_token" in token,
}))
