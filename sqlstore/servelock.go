package sqlstore

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"zhufang"
)

// serveLockSuffix names the lock file beside an SQLite database that a
// serving process holds: path + ".lock".
const serveLockSuffix = ".lock"

// errLockHeld is what tryLock returns when another open file holds the lock.
var errLockHeld = errors.New("lock held")

// takeServeLock takes the serving lock of the SQLite database at path: an
// OS lock on a file beside it, held until release is called or the process
// ends (the OS drops it even on a crash, so a stale file never blocks). A
// second server on the same file would run a second living city and
// second leader jobs over the first's data; it is refused here, naming the
// file and the process that holds it. Commands that only read, or write
// alongside a server as SQLite allows (backup, user, device), do not take
// it.
func takeServeLock(path string) (release func(), err error) {
	name := path + serveLockSuffix
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot open the lock file "+name, err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if !errors.Is(err, errLockHeld) {
			return nil, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot lock "+name, err)
		}
		holder := ""
		if b, err := os.ReadFile(name); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				holder = " (process " + strconv.Itoa(pid) + ")"
			}
		}
		return nil, zhufang.Errorf(zhufang.ECONFLICT,
			"another zhufang%s is serving the database %s (it holds %s); stop it first", holder, path, name)
	}
	// The holder's process ID, for the message of a server refused.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		f.Truncate(0)
		unlock(f)
		f.Close()
	}, nil
}
