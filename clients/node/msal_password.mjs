// MSAL Node's username/password flow through a ConfidentialClientApplication
// against the sandbox's NetRefer over HTTPS (the CA trusted through
// NODE_EXTRA_CA_CERTS).
//
// Usage: node msal_password.mjs HTTPS_BASE TENANT CLIENT_ID SECRET|- USER PASSWORD
// SECRET "-" is a PublicClientApplication, which the app registration must
// allow (allowPublicClient in the scenario).
// Prints one JSON object: the token's claims, MSAL's account, the token.
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.env.SANDBOX_NODE_MODULES, "x.js"));
const msal = require("@azure/msal-node");

const [base, tenant, clientId, secret, username, password] = process.argv.slice(2);
const auth = {
  clientId,
  authority: `${base}/netrefer/login/${tenant}`,
  // a host MSAL does not know: trusted as given, no instance discovery
  knownAuthorities: [new URL(base).host],
};
const app = secret === "-"
  ? new msal.PublicClientApplication({ auth })
  : new msal.ConfidentialClientApplication({ auth: { ...auth, clientSecret: secret } });
try {
  const r = await app.acquireTokenByUsernamePassword({
    scopes: [`api://${clientId}/Events.Injestion`], username, password,
  });
  const claims = JSON.parse(Buffer.from(r.accessToken.split(".")[1], "base64url"));
  console.log(JSON.stringify({
    application: app.constructor.name, claims, tokenType: r.tokenType, username: r.account?.username,
    homeAccountId: r.account?.homeAccountId, accessToken: r.accessToken,
  }));
} catch (e) {
  console.log(JSON.stringify({ error: e.errorCode || e.name, message: e.errorMessage || e.message }));
  process.exit(1);
}
