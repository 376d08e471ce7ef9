package cognitotest_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// BenchmarkFakeThroughput measures the fake itself, quotas off, through the
// real SDK client over loopback: it must never be the bottleneck of a
// benchmark that runs at Cognito's quota ceilings (UserList 30 rps × 60
// users = 1,800 users/s; UserRead 120 rps).
//
//	go test -run '^$' -bench FakeThroughput ./internal/cognitotest
func BenchmarkFakeThroughput(b *testing.B) {
	srv := cognitotest.NewTestServer(b, cognitotest.Options{NoQuotas: true})
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: 100000, Groups: 10, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	c := newClient(srv)
	pool := aws.String(res.PoolID)
	first, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: pool, Limit: aws.Int32(1)})
	if err != nil {
		b.Fatal(err)
	}
	someone := first.Users[0].Username

	b.Run("ListUsers-60", func(b *testing.B) {
		var users atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			var tok *string
			for pb.Next() {
				out, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: pool, Limit: aws.Int32(60), PaginationToken: tok})
				if err != nil {
					b.Error(err)
					return
				}
				users.Add(int64(len(out.Users)))
				tok = out.PaginationToken
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		b.ReportMetric(float64(users.Load())/b.Elapsed().Seconds(), "users/s")
	})
	for _, shards := range []int{16} {
		b.Run(fmt.Sprintf("ListUsers-sub-prefix-%d", shards), func(b *testing.B) {
			var users, i atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				filter := fmt.Sprintf(`sub ^= "%x"`, i.Add(1)%16)
				var tok *string
				for pb.Next() {
					out, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: pool, Limit: aws.Int32(60), PaginationToken: tok, Filter: aws.String(filter)})
					if err != nil {
						b.Error(err)
						return
					}
					users.Add(int64(len(out.Users)))
					tok = out.PaginationToken
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
			b.ReportMetric(float64(users.Load())/b.Elapsed().Seconds(), "users/s")
		})
	}
	b.Run("AdminGetUser", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: pool, Username: someone}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
}

// BenchmarkSignIn measures password sign-ins through the real SDK client,
// quotas off (Cognito's own UserAuthentication quota is far lower).
//
//	go test -run '^$' -bench SignIn ./internal/cognitotest
func BenchmarkSignIn(b *testing.B) {
	srv := cognitotest.NewTestServer(b, cognitotest.Options{NoQuotas: true})
	c := newClient(srv)
	p, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("bench")})
	if err != nil {
		b.Fatal(err)
	}
	cl, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: p.UserPool.Id, ClientName: aws.String("c"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth}})
	if err != nil {
		b.Fatal(err)
	}
	name, pw := "bench", "Bench-password-1"
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: p.UserPool.Id, Username: &name, MessageAction: types.MessageActionTypeSuppress}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: p.UserPool.Id, Username: &name, Password: &pw, Permanent: true}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: cl.UserPoolClient.ClientId, AuthFlow: types.AuthFlowTypeUserPasswordAuth,
				AuthParameters: map[string]string{"USERNAME": name, "PASSWORD": pw}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
