//go:build race

package capture_test

// raceFactor stretches the concurrent snapshot-step tests under the race
// detector: their steps of a second or so leave a tenth for closing chunks
// and storing the checkpoint, too little when the same work runs several
// times slower. The fake's page latency grows by the same factor, so each
// step still reads about as many pages.
const raceFactor = 6
