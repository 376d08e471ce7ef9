//go:build race

package capture_test

// raceFactor stretches the deadlines of tests that run work in timed
// steps: the race detector makes the same work several times slower, and
// a step must still get through a few pages and store its checkpoint.
const raceFactor = 3
