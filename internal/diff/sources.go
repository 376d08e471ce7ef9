package diff

import (
	"context"
	"iter"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// SnapshotSource reads one side from a snapshot.
type SnapshotSource struct {
	Repo     *repo.Repo
	Manifest *snapshot.Manifest
}

func (s SnapshotSource) Users(ctx context.Context) iter.Seq2[snapshot.User, error] {
	return s.Repo.Users(ctx, s.Manifest)
}

func (s SnapshotSource) Groups(ctx context.Context) ([]snapshot.Group, error) {
	cfg, err := s.Repo.Pool(ctx, s.Manifest)
	if err != nil {
		return nil, err
	}
	return cfg.Groups, nil
}

// PoolConfig is the configuration the snapshot recorded.
func (s SnapshotSource) PoolConfig(ctx context.Context) (*snapshot.PoolConfig, error) {
	return s.Repo.Pool(ctx, s.Manifest)
}

func (s SnapshotSource) Memberships(ctx context.Context) iter.Seq2[snapshot.Membership, error] {
	return s.Repo.Memberships(ctx, s.Manifest)
}

// LiveAPI is what reading a live pool needs.
type LiveAPI interface {
	cognito.UserLister
	cognito.GroupMemberLister
	backup.PoolConfigAPI
}

// PoolConfig reads the live pool's configuration as a backup would.
func (s LiveSource) PoolConfig(ctx context.Context) (*snapshot.PoolConfig, error) {
	cfg, _, err := backup.ReadPoolConfig(ctx, s.API, s.PoolID, false)
	return cfg, err
}

// LiveSource reads one side from a live pool, users through 16 concurrent
// sub-sharded chains, paced by the client.
type LiveSource struct {
	API    LiveAPI
	PoolID string
}

func (s LiveSource) Users(ctx context.Context) iter.Seq2[snapshot.User, error] {
	return func(yield func(snapshot.User, error) bool) {
		for u, err := range cognito.ShardedUsers(ctx, s.API, s.PoolID, cognito.SubShards(), 16) {
			if err != nil {
				yield(snapshot.User{}, err)
				return
			}
			rec, err := backup.UserRecord(u)
			if !yield(rec, err) || err != nil {
				return
			}
		}
	}
}

func (s LiveSource) Groups(ctx context.Context) ([]snapshot.Group, error) {
	var out []snapshot.Group
	for g, err := range cognito.Groups(ctx, s.API, s.PoolID) {
		if err != nil {
			return nil, err
		}
		out = append(out, backup.GroupRecord(g))
	}
	return out, nil
}

func (s LiveSource) Memberships(ctx context.Context) iter.Seq2[snapshot.Membership, error] {
	return func(yield func(snapshot.Membership, error) bool) {
		groups, err := s.Groups(ctx)
		if err != nil {
			yield(snapshot.Membership{}, err)
			return
		}
		for _, g := range groups {
			for u, err := range cognito.GroupMembers(ctx, s.API, s.PoolID, g.Name) {
				if err != nil {
					yield(snapshot.Membership{}, err)
					return
				}
				if !yield(snapshot.Membership{Group: g.Name, Username: aws.ToString(u.Username)}, nil) {
					return
				}
			}
		}
	}
}
