package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var rulesTools struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// rulesToolsBinary builds the balas binary once per test binary.
func rulesToolsBinary(t *testing.T) string {
	t.Helper()
	rulesTools.once.Do(func() {
		rulesTools.dir, rulesTools.err = os.MkdirTemp("", "balas-tools-")
		if rulesTools.err != nil {
			return
		}
		rulesTools.bin = filepath.Join(rulesTools.dir, "balas")
		out, err := exec.Command("go", "build", "-o", rulesTools.bin, ".").CombinedOutput()
		if err != nil {
			rulesTools.err = &buildError{err, string(out)}
		}
	})
	if rulesTools.err != nil {
		t.Fatalf("go build: %v", rulesTools.err)
	}
	return rulesTools.bin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// runBalas runs the built binary with stdin and returns stdout, stderr and the exit code.
func runBalas(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return runBalasReader(t, strings.NewReader(stdin), args...)
}

func runBalasReader(t *testing.T, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(rulesToolsBinary(t), args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run balas %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const cmdShop = `version: 1
vars: {shop: Toko Maju}
rules:
  - id: alamat
    when: {state: awaiting_address, type: text}
    reply: "Terima kasih! {{ session.product }} dikirim ke: {{ message.text }}"
    goto: ""
  - id: sapa
    when: {keywords: [halo, hai]}
    reply: "Hai {{ contact.name }}! Selamat datang di {{ vars.shop }}"
  - id: menu
    when: {keywords: [menu]}
    reply:
      list:
        body: Silakan pilih produk
        button: Lihat produk
        sections:
          - title: Terlaris
            rows:
              - {id: product_001, title: Produk A, description: "Rp 100.000"}
              - {id: product_002, title: Produk B}
  - id: pilih-produk
    when: {list: "product_*"}
    set: {product: "{{ message.reply.title }}"}
    reply:
      buttons:
        body: "Kamu memilih {{ message.reply.title }}. Lanjut order?"
        buttons:
          - {id: btn_order, title: Order Sekarang}
          - {id: btn_cancel, title: Batal}
  - id: order
    when: {button: btn_order}
    reply: Kirim alamat pengiriman kamu ya.
    goto: awaiting_address
  - id: foto
    when: {type: image}
    reply: Foto diterima.
  - id: bantuan
    fallback: true
    reply: Maaf, aku belum paham.
`

const cmdShopTest = `tests:
  - name: order flow
    contact: {name: Budi, wa_id: "628123456789"}
    steps:
      - send: Halo
        expect: {rule: sapa, reply: "Hai Budi! Selamat datang di Toko Maju"}
      - send: {list: product_001}
        expect: {rule: pilih-produk, buttons: [btn_order, btn_cancel]}
      - send: {button: btn_order}
        expect: {rule: order, state: awaiting_address}
      - send: Jl. Merdeka 1
        expect: {contains: "Jl. Merdeka 1", state: ""}
  - name: fallback
    steps:
      - send: hmm
        expect: {rule: bantuan}
`

func TestTestCommandPasses(t *testing.T) {
	dir := writeFiles(t, map[string]string{"shop.yaml": cmdShop, "shop_test.yaml": cmdShopTest})
	for _, path := range []string{dir, filepath.Join(dir, "shop.yaml")} {
		stdout, stderr, code := runBalas(t, "", "test", path)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		want := "--- PASS: order flow\n--- PASS: fallback\n2 passed, 0 failed\n"
		if stdout != want {
			t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
		}
		// Rules no step reaches are pointed out.
		if !strings.Contains(stderr, "no test step is answered by rule menu") || !strings.Contains(stderr, "rule foto") {
			t.Errorf("stderr: %s", stderr)
		}
	}
}

func TestTestCommandFails(t *testing.T) {
	failing := strings.Replace(cmdShopTest, `reply: "Hai Budi! Selamat datang di Toko Maju"`, `reply: "Halo Budi"`, 1)
	dir := writeFiles(t, map[string]string{"shop.yaml": cmdShop, "shop_test.yaml": failing})
	stdout, stderr, code := runBalas(t, "", "test", dir)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	// The steps after the failed one did not run: their rules (order,
	// alamat) are not reported as untested.
	if strings.Contains(stderr, "no test step is answered") {
		t.Errorf("untested rules reported although a test stopped early:\n%s", stderr)
	}
	want := "--- FAIL: order flow\n    " + filepath.Join(dir, "shop_test.yaml") + `:6: step 1: expected reply "Halo Budi", got "Hai Budi! Selamat datang di Toko Maju"` + "\n--- PASS: fallback\n1 passed, 1 failed\n"
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}

	// --run picks tests by name.
	stdout, _, code = runBalas(t, "", "test", "--run", "fall", dir)
	if code != 0 || stdout != "--- PASS: fallback\n1 passed, 0 failed\n" {
		t.Errorf("--run: exit %d\n%s", code, stdout)
	}
	// A --run that matches no test says so: a misspelt pattern must not
	// look like a run of every test that passed.
	stdout, stderr, code = runBalas(t, "", "test", "--run", "fallbak", dir)
	if code != 0 || stdout != "0 passed, 0 failed\n" || !strings.Contains(stderr, `no test name matches --run "fallbak"`) {
		t.Errorf("--run matching nothing: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestTestCommandErrors(t *testing.T) {
	// An unknown key in a test file: file:line:col, counted as a failure.
	dir := writeFiles(t, map[string]string{"shop.yaml": cmdShop, "shop_test.yaml": "tests:\n  - name: x\n    stepz: []\n"})
	stdout, _, code := runBalas(t, "", "test", dir)
	if code != 1 || !strings.Contains(stdout, "shop_test.yaml:3:5: unknown key \"stepz\"") || !strings.HasSuffix(stdout, "0 passed, 1 failed\n") {
		t.Errorf("exit %d\n%s", code, stdout)
	}

	// Rules that do not load: every test fails, the diagnostics go to stderr.
	dir = writeFiles(t, map[string]string{"shop.yaml": "version: 1\nrules:\n  - id: a\n    whenn: {}\n", "shop_test.yaml": cmdShopTest})
	stdout, stderr, code := runBalas(t, "", "test", dir)
	if code != 1 || !strings.Contains(stderr, "shop.yaml:4:5:") || !strings.HasSuffix(stdout, "0 passed, 2 failed\n") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	// Usage.
	if _, stderr, code := runBalas(t, "", "test"); code != 2 || !strings.Contains(stderr, "give one rules file or folder") {
		t.Errorf("no args: exit %d %s", code, stderr)
	}
	if stdout, _, code := runBalas(t, "", "test", "--help"); code != 0 || !strings.Contains(stdout, "Usage: balas test") {
		t.Errorf("--help: exit %d %s", code, stdout)
	}
	if _, stderr, code := runBalas(t, "", "test", "/no/such/rules"); code != 1 || !strings.Contains(stderr, "/no/such/rules") {
		t.Errorf("missing path: exit %d %s", code, stderr)
	}
}

func TestTestCommandExamples(t *testing.T) {
	for _, ex := range []string{"toko", "support"} {
		stdout, stderr, code := runBalas(t, "", "test", filepath.Join("..", "..", "examples", "rules", ex))
		if code != 0 || !strings.HasSuffix(stdout, " 0 failed\n") || stderr != "" {
			t.Errorf("%s: exit %d\n%s\n%s", ex, code, stdout, stderr)
		}
	}
}

// balas test stopped (Ctrl-C, a CI job's timeout) before every test ran
// does not pass, and does not call rules untested because their tests did
// not run.
func TestTestCommandInterruptedFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"test", filepath.Join("..", "..", "examples", "rules", "toko")}, strings.NewReader(""), &stdout, &stderr)
	if code == 0 {
		t.Errorf("exit code 0 for an interrupted run; stdout:\n%s", stdout.String())
	}
	if strings.Contains(stderr.String(), "no test step is answered") {
		t.Errorf("an interrupted run notes untested rules:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr does not say the run was interrupted:\n%s", stderr.String())
	}
}

// balas test given a test file instead of the rules says which rules
// to give, rather than that there are no tests.
func TestTestCommandGivenATestFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{"shop.yaml": cmdShop, "shop_test.yaml": cmdShopTest})
	stdout, stderr, code := runBalas(t, "", "test", filepath.Join(dir, "shop_test.yaml"))
	want := "balas test: " + filepath.Join(dir, "shop_test.yaml") + " is a conversation test file; give the rules it tests: balas test " + filepath.Join(dir, "shop.yaml") + "\n"
	if code != 2 || stderr != want || stdout != "" {
		t.Errorf("exit %d\nstdout %q\nstderr %q\nwant %q", code, stdout, stderr, want)
	}
	// Without a NAME.yaml beside it, the folder.
	dir = writeFiles(t, map[string]string{"shop.yaml": cmdShop, "flow_test.yaml": cmdShopTest})
	_, stderr, code = runBalas(t, "", "test", filepath.Join(dir, "flow_test.yaml"))
	if code != 2 || !strings.HasSuffix(stderr, "give the rules it tests: balas test "+dir+"\n") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// A test file that holds no tests (empty, or `tests: []`) is pointed out,
// instead of a quiet "0 passed, 0 failed".
func TestTestCommandNamesAFileWithoutTests(t *testing.T) {
	dir := writeFiles(t, map[string]string{"shop.yaml": cmdShop, "shop_test.yaml": "tests: []\n"})
	stdout, stderr, code := runBalas(t, "", "test", dir)
	if code != 0 || stdout != "0 passed, 0 failed\n" || !strings.Contains(stderr, filepath.Join(dir, "shop_test.yaml")+": note: no tests in this file") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
}
