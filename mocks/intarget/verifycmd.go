package intarget

import (
	"io"
	"net/http"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

func runVerify(args []string, stdout, stderr io.Writer) int { return 2 }

func adminVerify(ns *sandbox.Namespace, w http.ResponseWriter, r *http.Request) {}
