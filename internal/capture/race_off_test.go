//go:build !race

package capture_test

// raceFactor: see race_on_test.go.
const raceFactor = 1
