//go:build race

package redis_test

// raceEnabled is true under the race detector.
const raceEnabled = true
