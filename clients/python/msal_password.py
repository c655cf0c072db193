"""MSAL Python's username/password flow against the sandbox's NetRefer tenant,
then the token through the NetRefer gateway. Run by clients/clients_test.go:

    /usr/bin/python3 msal_password.py '{"base": "https://127.0.0.1:8443", ...}'

with REQUESTS_CA_BUNDLE naming the sandbox's CA. Prints one JSON object.

Before the password grant MSAL asks https://HOST/common/userrealm/USER, on
port 443 whatever port the authority names (msal/authority.py builds that URL
from the host name alone). cfg["userRealm"] says how this run copes:
"port443" stands in for a sandbox served on port 443 by sending MSAL's
port-less https URLs to the sandbox's port; "skip" tells MSAL the host has no
user realm endpoint, as MSAL itself notes after a 404 from one; "none" does
neither, and MSAL fails to connect to port 443.
"""
import base64
import json
import sys
from urllib.parse import urlsplit, urlunsplit

import msal
import requests

cfg = json.loads(sys.argv[1])
host = urlsplit(cfg["base"]).netloc


class Port443(requests.Session):
    """A session for which the sandbox listens on 443: an https URL without a
    port goes to the sandbox's port (nothing else listens there)."""

    def request(self, method, url, *args, **kwargs):
        u = urlsplit(url)
        if u.scheme == "https" and u.port is None and u.hostname == urlsplit(cfg["base"]).hostname:
            url = urlunsplit(u._replace(netloc=host))
        return super().request(method, url, *args, timeout=10, **kwargs)


options = {}
if cfg["userRealm"] == "port443":
    options["http_client"] = Port443()
elif cfg["userRealm"] == "skip":
    # MSAL's own memo of hosts whose user realm lookup answered 404.
    msal.authority.Authority._domains_without_user_realm_discovery.add(urlsplit(cfg["base"]).hostname)

options.update(
    authority="%s/netrefer/login/%s" % (cfg["base"], cfg["tenant"]),
    # MSAL asks login.microsoftonline.com to describe any authority it does
    # not know (instance discovery); the sandbox is not one of Microsoft's.
    instance_discovery=False,
)
# Without cfg["clientSecret"] it is a PublicClientApplication, which the app
# registration must allow (allowPublicClient in the scenario).
if cfg.get("clientSecret"):
    app = msal.ConfidentialClientApplication(cfg["clientId"], client_credential=cfg["clientSecret"], **options)
else:
    app = msal.PublicClientApplication(cfg["clientId"], **options)
result = app.acquire_token_by_username_password(
    cfg["username"], cfg["password"], scopes=[cfg["scope"]])
if "access_token" not in result:
    print(json.dumps({"error": result}))
    sys.exit(1)

payload = result["access_token"].split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
gateway = requests.post(
    cfg["base"] + "/netrefer/di/v1/registrations",
    headers={"Ocp-Apim-Subscription-Key": cfg["subscriptionKey"],
             "Authorization": "Bearer " + result["access_token"]},
    json=cfg["batch"], timeout=10)

# The second ask is answered from MSAL's token cache, without a request.
accounts = app.get_accounts(username=cfg["username"])
silent = app.acquire_token_silent([cfg["scope"]], account=accounts[0]) if accounts else None

# The same shape as node/msal-node.mjs prints.
print(json.dumps({
    "application": type(app).__name__,
    "tokenType": result["token_type"],
    "scopes": result.get("scope", "").split(),
    "account": {"homeAccountId": accounts[0]["home_account_id"], "username": accounts[0]["username"],
                "environment": accounts[0]["environment"]} if accounts else None,
    "claims": claims,
    "gateway": {"status": gateway.status_code, "body": gateway.json()},
    "silentSameToken": bool(silent) and silent.get("access_token") == result["access_token"],
    "version": msal.__version__,
}))
