// Package netfinity emulates the netfinity provider API (see docs/netfinity.md).
package netfinity
