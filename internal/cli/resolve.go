package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// poolFlagHelp is the --pool help of commands that read snapshots.
const poolFlagHelp = "the pool whose snapshots SNAPSHOT names: \"latest\" is that pool's newest (needed when the repository holds snapshots of more than one pool)"

// resolveSnapshot finds the snapshot ref names ("latest", an id or an id
// prefix) among pool's snapshots (pool "" when --pool was not given: then
// "latest" needs a repository of one pool, and a full id resolves alone).
// A reference that names no snapshot, several, or one of another pool is a
// usage error (exit 2); the ambiguity error lists the repository's pools.
func resolveSnapshot(ctx context.Context, r *repo.Repo, ref, pool string) (*snapshot.Manifest, error) {
	m, err := r.Resolve(ctx, ref, pool)
	switch {
	case err == nil:
		return m, nil
	case errors.Is(err, repo.ErrNoSnapshot), errors.Is(err, repo.ErrAmbiguous), errors.Is(err, repo.ErrWrongPool):
		return nil, withCode(ExitUsage, err)
	}
	return nil, err
}

// poolOf returns the pool to work on: the flag, or the repository's only
// pool. A repository of several pools (or none) needs the flag: the usage
// error lists the pools.
func poolOf(ctx context.Context, r *repo.Repo, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	all, _, err := r.Snapshots(ctx)
	if err != nil {
		return "", err
	}
	switch pools := repo.PoolIDs(all); len(pools) {
	case 1:
		return pools[0], nil
	case 0:
		return "", usageError("--pool is required: the repository holds no snapshot to take the pool from")
	default:
		return "", usageError("--pool is required: %v (%s); pass --pool to name one (see 'cogvault snapshots')", repo.ErrAmbiguousPool, strings.Join(pools, ", "))
	}
}
