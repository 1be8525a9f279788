package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// defaultLockWait is how long serve waits for another balas serve to let go
// of the database (one being stopped as this one starts) before it gives up.
const defaultLockWait = 10 * time.Second

// errLocked is what tryLock returns while another process holds the lock.
var errLocked = errors.New("locked")

// lockDatabase takes the lock that makes this balas serve the only one on
// the database at path: two would both send the replies waiting in the
// outbox. The lock is the file path + ".lock", held (flock) while the
// returned file is open; the system releases it when the process ends,
// however it ends. It waits up to wait for another holder to let go, and
// stops waiting when ctx ends. A path that is (or goes through) a symbolic
// link is locked where it leads: SQLite opens the file the link leads to.
func lockDatabase(ctx context.Context, path string, wait time.Duration, log *slog.Logger) (*os.File, error) {
	name := lockPath(path)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock the database: %w (check that the folder is writable)", err)
	}
	deadline := time.Now().Add(wait)
	for logged := false; ; {
		err := tryLock(f)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, errLocked) {
			f.Close()
			return nil, fmt.Errorf("lock the database with %s: %w", name, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("another balas serve is using the database %s (it holds %s): stop it first; "+
				"two would both send the replies waiting in the outbox (on Kubernetes run one replica with the Recreate strategy)", path, name)
		}
		if !logged {
			log.Warn("another balas serve is using the database; waiting for it to stop", "db", path, "for", wait.String())
			logged = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("stopped while waiting for another balas serve to let go of the database %s: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lockPath is the lock file of the database at path: beside the file a
// symbolic link leads to, so that every name of one database takes the
// same lock. A database not created yet is resolved through its folder.
func lockPath(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real + ".lock"
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(path)); err == nil {
		return filepath.Join(dir, filepath.Base(path)) + ".lock"
	}
	return path + ".lock"
}
