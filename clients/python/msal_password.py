"""MSAL Python's username/password flow against the sandbox's NetRefer.

Usage: REQUESTS_CA_BUNDLE=ca.pem python3 msal_password.py HTTPS_BASE TENANT CLIENT_ID SECRET|- USER PASSWORD
SECRET "-" is a PublicClientApplication, which the app registration must
allow (allowPublicClient in the scenario).
Prints one JSON object: the claims of the access token MSAL got, the
account MSAL cached, and the token for the caller's gateway check.
"""
import base64
import json
import sys
from urllib.parse import urlsplit

import msal
import requests

base, tenant, client_id, secret, user, password = sys.argv[1:7]


class PortKeepingSession(requests.Session):
    """MSAL Python builds its user-realm URL from the authority's hostname
    (https://{hostname}/common/userrealm/...), dropping the port; this
    session puts the authority's port back, so the sandbox on a free port
    answers it. Everything else goes out as MSAL asks."""

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        authority = urlsplit(base)
        if parts.hostname == authority.hostname and parts.port is None:
            url = parts._replace(netloc=authority.netloc).geturl()
        return super().request(method, url, *args, **kwargs)


options = dict(
    authority=base + "/netrefer/login/" + tenant,
    instance_discovery=False,  # no login.microsoftonline.com look-up for a host of its own
    http_client=PortKeepingSession(),
)
if secret == "-":
    app = msal.PublicClientApplication(client_id, **options)
else:
    app = msal.ConfidentialClientApplication(client_id, client_credential=secret, **options)
result = app.acquire_token_by_username_password(
    user, password, scopes=["api://" + client_id + "/Events.Injestion"])
if "access_token" not in result:
    print(json.dumps({"error": result.get("error"), "error_description": result.get("error_description")}))
    sys.exit(1)
payload = result["access_token"].split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
accounts = app.get_accounts()
# The same shape as ../node/msal_password.mjs prints.
print(json.dumps({
    "application": type(app).__name__,
    "claims": claims,
    "tokenType": result.get("token_type"),
    "username": accounts[0]["username"] if accounts else None,
    "homeAccountId": accounts[0]["home_account_id"] if accounts else None,
    "accessToken": result["access_token"],
}))
