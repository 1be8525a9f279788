package main

import (
	"os"
	"testing"
)

// TestMain removes the balas binary that the command tests build.
func TestMain(m *testing.M) {
	code := m.Run()
	if rulesTools.dir != "" {
		os.RemoveAll(rulesTools.dir)
	}
	os.Exit(code)
}
