package capture_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/restore"
)

// The restore action into a pool with a PostConfirmation trigger (as the
// capture function's own pool has) needs allowTriggers, like the CLI's
// --allow-triggers.
func TestRestoreActionIntoPoolWithTriggers(t *testing.T) {
	e := setup(t, 10)
	_, err := e.h.Handle(ctx, []byte(`{"action":"snapshot"}`))
	must(t, err)
	target, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "t", Seed: 30})
	must(t, err)
	must(t, e.srv.SetLambdaConfig(target.PoolID, map[string]string{"PostConfirmation": "arn:aws:lambda:us-east-1:123456789012:function:capture"}))
	_, err = e.h.Handle(ctx, []byte(fmt.Sprintf(`{"action":"restore","targetPoolId":%q}`, target.PoolID)))
	if !errors.Is(err, restore.ErrRefused) || e.srv.OpStats("AdminCreateUser").Calls != 0 {
		t.Fatalf("restore action without allowTriggers: %v", err)
	}
	_, err = e.h.Handle(ctx, []byte(fmt.Sprintf(`{"action":"restore","targetPoolId":%q,"allowTriggers":true}`, target.PoolID)))
	must(t, err)
	if e.srv.OpStats("AdminCreateUser").Calls == 0 {
		t.Fatal("restore action with allowTriggers created no user")
	}
}
