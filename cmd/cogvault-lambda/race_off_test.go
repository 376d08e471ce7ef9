//go:build !race

package main

// raceFactor: see race_on_test.go.
const raceFactor = 1
