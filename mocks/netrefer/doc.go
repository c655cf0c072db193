// Package netrefer emulates the netrefer provider API (see docs/netrefer.md).
package netrefer
