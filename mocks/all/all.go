// Package all links every provider emulator into the binary. Each provider
// registers itself with the core from an init function; importing it here is
// the only wiring a new provider needs.
package all

import (
	_ "github.com/provider-sandbox/provider-sandbox/mocks/centili"   // Centili Data Gifting
	_ "github.com/provider-sandbox/provider-sandbox/mocks/intarget"  // InTarget product API
	_ "github.com/provider-sandbox/provider-sandbox/mocks/netfinity" // Netfinity messaging
	_ "github.com/provider-sandbox/provider-sandbox/mocks/netrefer"  // NetRefer Data Ingestion
)
