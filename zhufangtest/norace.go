//go:build !race

package zhufangtest

// Race reports that the test binary runs under the race detector, which
// makes the pure-Go SQLite many times slower: a test whose work is bulk
// writes from one goroutine may leave that work to the ordinary pass.
const Race = false
