//go:build race

package main

// raceDetector reports that this test binary runs under the race detector,
// which makes the pure-Go SQLite many times slower.
const raceDetector = true
