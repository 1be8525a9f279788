package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The README's first command, `go run ./cmd/balas serve --dev`, runs from
// the root of a clone, where ./rules is the Go package of that name: balas
// must answer with the built-in example shop there.
func TestQuickStartFromRepositoryRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("runs balas")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "rules", "load.go")); err != nil {
		t.Fatalf("%s is not the repository root: %v", root, err)
	}
	p := &e2eProc{log: &e2eLog{}, exited: make(chan struct{})}
	addr := e2eFreeAddr(t)
	p.base = "http://" + addr
	p.cmd = exec.Command(rulesToolsBinary(t), "serve", "--dev", "--addr", addr, "--db", filepath.Join(t.TempDir(), "balas.db"))
	p.cmd.Dir = root
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BALAS_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.kill)
	if !p.waitReady(15 * time.Second) {
		t.Fatalf("balas serve --dev did not become ready in the repository root; its output:\n%s", p.log.String())
	}
	resp, err := e2eClient.Get(p.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ready struct {
		RulesCount int `json:"rules_count"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &ready); err != nil || ready.RulesCount != 21 {
		t.Fatalf("/readyz %s: want the 21 rules of the example shop", b)
	}
	if !strings.Contains(p.log.String(), "holds no rules files") {
		t.Errorf("no warning that ./rules holds no rules files; output:\n%s", p.log.String())
	}
}

func TestResolveRules(t *testing.T) {
	dir := t.TempDir()
	goPkg := filepath.Join(dir, "gopkg")
	withRules := filepath.Join(dir, "mine")
	empty := filepath.Join(dir, "empty")
	for _, d := range []string{goPkg, withRules, empty} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(goPkg, "load.go"), []byte("package rules\n"), 0o644)
	os.WriteFile(filepath.Join(goPkg, "shop_test.yaml"), []byte("tests: []\n"), 0o644) // a test, not rules
	os.WriteFile(filepath.Join(withRules, "shop.yaml"), []byte("version: 1\n"), 0o644)
	file := filepath.Join(withRules, "shop.yaml")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name     string
		rules    string
		given    bool
		prod     bool // without --dev
		builtIn  bool
		wantPath string
		wantErr  string
	}{
		{name: "default, no folder", rules: filepath.Join(dir, "missing"), builtIn: true},
		{name: "default, a folder without rules files", rules: goPkg, builtIn: true},
		{name: "default, a folder with rules", rules: withRules, wantPath: withRules},
		{name: "default, a file", rules: file, wantPath: file},
		{name: "given, a folder without rules files", rules: empty, given: true, wantPath: empty}, // the loader says why
		{name: "given, missing", rules: filepath.Join(dir, "missing"), given: true, wantErr: "set --rules or BALAS_RULES"},
		// In production a missing rules folder is a mistake (another
		// working directory, say): customers must not get the example shop.
		{name: "production, no folder", rules: filepath.Join(dir, "missing"), prod: true, wantErr: "set --rules or BALAS_RULES"},
		{name: "production, a folder without rules files", rules: goPkg, prod: true, wantErr: "only with --dev"},
		{name: "production, a folder with rules", rules: withRules, prod: true, wantPath: withRules},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, temp, err := resolveRules(&config{Rules: tc.rules, RulesGiven: tc.given, Dev: !tc.prod}, log)
			if temp != "" {
				defer os.RemoveAll(temp)
			}
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case tc.builtIn:
				if temp == "" || path != temp {
					t.Fatalf("path %q temp %q, want the built-in example unpacked", path, temp)
				}
				if files, _ := filepath.Glob(filepath.Join(path, "*.yaml")); len(files) == 0 {
					t.Fatalf("nothing unpacked into %s", path)
				}
			default:
				if path != tc.wantPath || temp != "" {
					t.Fatalf("path %q temp %q, want %q", path, temp, tc.wantPath)
				}
			}
		})
	}
}

// The README's small rules example and its conversation test pass together,
// as a reader who copies them gets them.
func TestReadmeRulesAndTestExamples(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(after string) string {
		t.Helper()
		_, rest, ok := strings.Cut(string(readme), after)
		if !ok {
			t.Fatalf("README lacks %q", after)
		}
		_, rest, _ = strings.Cut(rest, "```yaml\n")
		body, _, _ := strings.Cut(rest, "```")
		return body
	}
	dir := writeFiles(t, map[string]string{
		"shop.yaml":      block("A small, complete example:"),
		"shop_test.yaml": block("Conversation tests (`shop_test.yaml` beside `shop.yaml`):"),
	})
	if out, errOut, code := runBalas(t, "", "test", dir); code != 0 || !strings.Contains(out, "1 passed, 0 failed") {
		t.Fatalf("balas test on the README's examples: exit %d\n%s%s", code, out, errOut)
	}
}
