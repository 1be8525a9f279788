package main

import (
	"bytes"
	"context"
	"os"
	"strings"
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

// balas version takes --help like every command, and refuses arguments.
func TestVersionHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"version", "--help"}, strings.NewReader(""), &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "Usage: balas version") {
		t.Fatalf("balas version --help: exit %d, %q %q", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"version"}, strings.NewReader(""), &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "balas ") {
		t.Fatalf("balas version: exit %d, %q", code, out.String())
	}
	if code := run(context.Background(), []string{"version", "extra"}, strings.NewReader(""), &out, &errOut); code != 2 {
		t.Fatalf("balas version extra: exit %d", code)
	}
}

// balas serve --help prints its flags on stdout, as every command does.
func TestServeHelpOnStdout(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--help"}, strings.NewReader(""), &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "-send-concurrency") || errOut.Len() != 0 {
		t.Fatalf("balas serve --help: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"serve", "--no-such-flag"}, strings.NewReader(""), &out, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), "no-such-flag") || out.Len() != 0 {
		t.Fatalf("balas serve --no-such-flag: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}
