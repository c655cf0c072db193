// openid-client v6 against one of the sandbox's issuers: discovery, a password
// grant (genericGrantRequest), a refresh, and the access token on the
// provider's API (fetchProtectedResource). Run by clients/clients_test.go:
//   node openid-client.mjs '{"issuer":"https://127.0.0.1:8443/...", ...}'
// with NODE_EXTRA_CA_CERTS naming the sandbox's CA and no
// allowInsecureRequests. Prints one JSON object.
import * as client from "openid-client";

const cfg = JSON.parse(process.argv[2]);
const config = await client.discovery(new URL(cfg.issuer), cfg.clientId, cfg.clientSecret);
const server = config.serverMetadata();

const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url"));
const summary = (t) => ({
  token_type: t.token_type,
  expires_in: t.expiresIn(),
  scope: t.scope,
  refresh: typeof t.refresh_token === "string" && t.refresh_token.length > 0,
  claims: claimsOf(t.access_token),
  // claims() is the id token's payload, which openid-client has already
  // checked (issuer, audience, azp, iat, exp; not the signature: the answer
  // came straight from the token endpoint over TLS, OIDC Core 3.1.3.7).
  idToken: t.claims() ?? null,
});

const tokens = await client.genericGrantRequest(config, "password", cfg.password);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, cfg.refresh ?? {});

const r = cfg.resource;
const answer = await client.fetchProtectedResource(config, refreshed.access_token, new URL(r.url), r.method,
  r.body === undefined ? undefined : JSON.stringify(r.body), new Headers(r.headers ?? {}));

// TODO(keycloak helper): once Centili serves userinfo, introspection,
// revocation and logout, also call client.fetchUserInfo,
// client.tokenIntrospection, client.tokenRevocation and
// client.buildEndSessionUrl here (their endpoints come from discovery).

console.log(JSON.stringify({
  issuer: server.issuer,
  token_endpoint: server.token_endpoint,
  password: summary(tokens),
  refreshed: summary(refreshed),
  refreshTokenRotated: refreshed.refresh_token !== undefined && refreshed.refresh_token !== tokens.refresh_token,
  resource: { status: answer.status, body: await answer.json() },
}));
