package postman_test

import (
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/testexit"
)

// TestMain skips the race detector's one-second exit pause: see internal/testexit.
func TestMain(m *testing.M) { testexit.Main(m) }
