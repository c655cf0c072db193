// Package clients holds no code: its tests run the client libraries people
// use against these providers (MSAL Node and Python, openid-client,
// requests-oauthlib, go-oidc with x/oauth2) against the sandbox binary over
// HTTPS, trusting its local CA the way docs/clients.md tells users to.
//
// The unit tests of mocks/netrefer and mocks/centili check the protocol as
// the sandbox reads it; these check that the real libraries, with their own
// URL building, discovery, caching and validation, get through. A sandbox
// that answers a field a library rejects, or a library that needs a
// configuration switch the docs do not name, fails here.
//
// The Node scripts (node/*.mjs) and Python scripts (python/*.py) print one
// JSON object that the tests assert on. The libraries come from outside the
// module: Node packages from SANDBOX_NODE_MODULES (node/package.json pins
// them; .ci/run installs them), Python modules from Debian's packages under
// /usr/bin/python3. A test whose library is missing skips, except when CI is
// set: then it fails, as the CI recipe is meant to install it.
package clients
