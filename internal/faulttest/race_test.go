//go:build race

package faulttest

// raceEnabled: the test runs under -race, so the binary is built with -race
// too; it then reuses the packages this test binary was compiled from.
const raceEnabled = true
