// Package centili emulates the centili provider API (see docs/centili.md).
package centili
