// MSAL Node's username/password flow against the sandbox's NetRefer tenant,
// then the token through the NetRefer gateway. Run by clients/clients_test.go:
//   node msal-node.mjs '{"base":"https://127.0.0.1:8443", ...}'
// with NODE_EXTRA_CA_CERTS naming the sandbox's CA. Prints one JSON object.
// Without cfg.clientSecret it is a PublicClientApplication, which the app
// registration must allow (allowPublicClient in the scenario).
import { ConfidentialClientApplication, PublicClientApplication } from "@azure/msal-node";

const cfg = JSON.parse(process.argv[2]);
const auth = {
  clientId: cfg.clientId,
  authority: `${cfg.base}/netrefer/login/${cfg.tenant}`,
  // MSAL asks login.microsoftonline.com to describe any other authority
  // (instance discovery) unless its host is listed here.
  knownAuthorities: [new URL(cfg.base).host],
};
const app = cfg.clientSecret
  ? new ConfidentialClientApplication({ auth: { ...auth, clientSecret: cfg.clientSecret } })
  : new PublicClientApplication({ auth });

const result = await app.acquireTokenByUsernamePassword({
  scopes: [cfg.scope],
  username: cfg.username,
  password: cfg.password,
});

const claims = JSON.parse(Buffer.from(result.accessToken.split(".")[1], "base64url"));
const gateway = await fetch(`${cfg.base}/netrefer/di/v1/registrations`, {
  method: "POST",
  headers: {
    "Ocp-Apim-Subscription-Key": cfg.subscriptionKey,
    Authorization: `Bearer ${result.accessToken}`,
    "Content-Type": "application/json",
  },
  body: JSON.stringify(cfg.batch),
});

// A second call is served from MSAL's cache: the same token, no request.
const accounts = await app.getTokenCache().getAllAccounts();
const silent = await app.acquireTokenSilent({ scopes: [cfg.scope], account: accounts[0] });

// The same shape as python/msal_password.py prints, plus tenantId and
// silentFromCache, which MSAL Python does not report.
console.log(JSON.stringify({
  version: (await import("@azure/msal-node/package.json", { with: { type: "json" } })).default.version,
  application: app.constructor.name,
  tokenType: result.tokenType,
  scopes: result.scopes,
  tenantId: result.tenantId,
  account: { homeAccountId: result.account.homeAccountId, username: result.account.username, environment: result.account.environment },
  claims,
  gateway: { status: gateway.status, body: await gateway.json() },
  silentFromCache: silent.fromCache,
  silentSameToken: silent.accessToken === result.accessToken,
}));
