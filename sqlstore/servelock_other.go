//go:build !unix

package sqlstore

import "os"

// tryLock does not lock where flock is missing: there a second server on
// one file is not refused.
func tryLock(*os.File) error { return nil }

func unlock(*os.File) {}
