package diff

import (
	"context"
	"fmt"
	"iter"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

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
	backup.UserGetter
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
		for u, err := range cognito.AllUsers(ctx, s.API, s.PoolID, 16, nil) {
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

// User reads one user with AdminGetUser, which is consistent where ListUsers
// is not: a user the listing does not show yet is found here.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html
func (s LiveSource) User(ctx context.Context, username string) (snapshot.User, bool, error) {
	out, err := s.API.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &s.PoolID, Username: &username})
	if cognito.IsUserNotFound(err) {
		return snapshot.User{}, false, nil
	}
	if err != nil {
		return snapshot.User{}, false, fmt.Errorf("read user %q of %s: %w", username, s.PoolID, err)
	}
	rec, err := backup.UserRecord(types.UserType{Username: out.Username, Attributes: out.UserAttributes, Enabled: out.Enabled,
		UserStatus: out.UserStatus, UserCreateDate: out.UserCreateDate, UserLastModifiedDate: out.UserLastModifiedDate})
	return rec, err == nil, err
}
