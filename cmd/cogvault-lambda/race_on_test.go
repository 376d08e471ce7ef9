//go:build race

package main

// raceFactor stretches the snapshot-step tests under the race detector:
// their one-second steps (a tenth of which is left for closing chunks and
// storing the checkpoint) are too short when the same work runs several
// times slower. Their pools grow by the same factor, so that a snapshot
// paced by the quota still takes several steps.
const raceFactor = 3
