package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The database is the file at the path given, whatever characters the path
// holds: SQLite reads the DSN as a URI, where ?, # and % mean something.
func TestOpenPathWithURICharacters(t *testing.T) {
	for _, name := range []string{"with space", "ünïcödé", "bot#1", "what?", "50%off", "a%3Fb", "x&y=z"} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "balas.db")
			db, err := Open(context.Background(), path, Options{})
			if err != nil {
				t.Fatalf("open %s: %v", path, err)
			}
			if _, err := db.StoreDelivery(context.Background(), []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the database is not at %s: %v", path, err)
			}
			entries, _ := os.ReadDir(root)
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("files made beside the folder: %q", names)
			}
			db = openTest(t, path)
			if n, err := db.CountDeliveries(context.Background()); err != nil || n != 1 {
				t.Fatalf("reopened: %d deliveries, %v", n, err)
			}
		})
	}
}

// A path written with a leading // (a joined "/" + "/var/lib/…") is that
// absolute path, not a URI authority.
func TestOpenPathWithLeadingSlashes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "balas.db")
	db, err := Open(context.Background(), "/"+path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
