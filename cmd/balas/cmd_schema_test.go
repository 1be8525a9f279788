package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestSchemaCommandMatchesCommittedFile(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runSchema(context.Background(), nil, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	committed, err := os.ReadFile("../../rules.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), committed) {
		t.Fatal("rules.schema.json differs from `balas schema`: run `go run ./cmd/balas schema > rules.schema.json`")
	}
}

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/a.yaml", []byte("version: 1\nrules:\n  - id: a\n    when: {keyword: [x]}\n    reply: hi\n"), 0o644)
	var out, errb bytes.Buffer
	code := runCheck(context.Background(), []string{dir}, nil, &out, &errb)
	want := dir + "/a.yaml:4:12: unknown key `keyword`; did you mean `keywords`?\n" + dir + ": 1 rule in 1 file, 1 error, 0 warnings\n"
	if code != 1 || out.String() != want {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	out.Reset()
	if code := runCheck(context.Background(), nil, nil, &out, &errb); code != 2 {
		t.Errorf("missing PATH: exit %d", code)
	}
	out.Reset()
	if code := runCheck(context.Background(), []string{"--help"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "Usage: balas check PATH") {
		t.Errorf("--help: exit %d %q", code, out.String())
	}
}
