// openid-client v6 against one issuer of the sandbox over HTTPS, with no
// insecure switch (the CA trusted through NODE_EXTRA_CA_CERTS): discovery,
// the password grant (genericGrantRequest), refresh; against Keycloak with a
// confidential client also userinfo, introspection and revocation.
//
// Usage: node openid_client.mjs ISSUER CLIENT_ID SECRET|- USER PASSWORD SCOPE [RESOURCE]
// SECRET "-" is a public client. Prints one JSON object.
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.env.SANDBOX_NODE_MODULES, "x.js"));
const client = require("openid-client");

const [issuer, clientId, secret, username, password, scope, resource] = process.argv.slice(2);
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url"));
try {
  const config = secret === "-"
    ? await client.discovery(new URL(issuer), clientId, undefined, client.None())
    : await client.discovery(new URL(issuer), clientId, secret);
  const params = { username, password, scope };
  if (resource) params.resource = resource;
  const tok = await client.genericGrantRequest(config, "password", params);
  const fresh = await client.refreshTokenGrant(config, tok.refresh_token);
  // Keycloak's other endpoints, where discovery lists them and the client is
  // confidential (Keycloak lets no public client introspect): userinfo,
  // introspection of the refreshed access token, revocation of the refresh
  // token, and the refresh that revocation must make fail.
  let oidc = null;
  if (config.serverMetadata().introspection_endpoint && secret !== "-") {
    const sub = claims(fresh.access_token).sub;
    const info = await client.fetchUserInfo(config, fresh.access_token, sub);
    const active = await client.tokenIntrospection(config, fresh.access_token);
    await client.tokenRevocation(config, fresh.refresh_token, { token_type_hint: "refresh_token" });
    let afterRevoke = "refreshed";
    try {
      await client.refreshTokenGrant(config, fresh.refresh_token);
    } catch (e) {
      afterRevoke = `${e.error}: ${e.error_description}`;
    }
    const inactive = await client.tokenIntrospection(config, fresh.access_token);
    oidc = { userinfoSub: info.sub, userinfoEmail: info.email, subject: sub,
      introspected: active.active, introspectedClient: active.client_id,
      afterRevoke, introspectedAfterRevoke: inactive.active };
  }
  console.log(JSON.stringify({
    issuer: config.serverMetadata().issuer,
    tokenEndpoint: config.serverMetadata().token_endpoint,
    claims: claims(tok.access_token),
    refreshed: claims(fresh.access_token),
    sameAccessToken: tok.access_token === fresh.access_token,
    idTokenIssuer: tok.id_token ? claims(tok.id_token).iss : null,
    accessToken: fresh.access_token,
    oidc,
  }));
} catch (e) {
  console.log(JSON.stringify({ error: e.code || e.name, message: e.message, cause: String(e.cause ?? "") }));
  process.exit(1);
}
