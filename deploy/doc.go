// Package deploy holds what runs several sandboxes behind one address:
// nginx.conf (consistent hashing on the namespace) and the tests that hold
// it, and the repository's docker-compose.yml, to their promises
// (docs/scaling.md). It has no code of its own.
package deploy
