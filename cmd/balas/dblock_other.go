//go:build !unix

package main

import "os"

// tryLock does not lock where flock is missing: run one balas serve per
// database there.
func tryLock(*os.File) error { return nil }
