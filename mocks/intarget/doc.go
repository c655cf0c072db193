// Package intarget emulates the intarget provider API (see docs/intarget.md).
package intarget
