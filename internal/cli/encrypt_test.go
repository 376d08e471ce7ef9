package cli_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// TestEncryptedRepository: a stolen repository reveals no user data; a
// backup needs no key; reading needs the identity.
func TestEncryptedRepository(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, _ := srv.Populate(cognitotest.PopulateOptions{Users: 60, Groups: 2})
	dir := t.TempDir()
	id, _ := age.GenerateX25519Identity()
	keyFile := filepath.Join(dir, "cogvault.key")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", dir + "/repo"}

	if code, _, errOut := run(t, ctx, append([]string{"init", "--age-recipient", "age1notakey"}, common...)...); code != 2 || !strings.Contains(errOut, "recipient") {
		t.Fatalf("init with a bad recipient: exit %d %s", code, errOut)
	}
	if code, out, errOut := run(t, ctx, append([]string{"init", "--age-recipient", id.Recipient().String()}, common...)...); code != 0 || !strings.Contains(out, "encrypted with age") {
		t.Fatalf("init: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := run(t, ctx, append([]string{"init"}, common...)...); code != 1 || !strings.Contains(errOut, "already initialised") {
		t.Fatalf("second init: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, ctx, "backup", "--pool", src.PoolID, "--include-secrets", "--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", dir+"/plain"); code != 2 || !strings.Contains(errOut, "needs an encrypted repository") {
		t.Fatalf("--include-secrets into an unencrypted repository: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, ctx, append([]string{"backup", "--pool", src.PoolID, "--include-secrets"}, common...)...); code != 0 {
		t.Fatalf("backup without a key: %s", errOut)
	}

	// No user value is in any stored byte.
	users, err := newFakeClient(t, srv).ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &src.PoolID})
	if err != nil {
		t.Fatal(err)
	}
	values := [][]byte{[]byte("GOCSPX-fake-secret")} // the Google provider's, kept by --include-secrets
	for _, u := range users.Users {
		values = append(values, []byte(aws.ToString(u.Username)))
		for _, a := range u.Attributes {
			if v := aws.ToString(a.Value); len(v) > 6 && aws.ToString(a.Name) != "sub" {
				values = append(values, []byte(v))
			}
		}
	}
	err = filepath.WalkDir(dir+"/repo", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range values {
			if bytes.Contains(b, v) {
				t.Errorf("%s holds a user's value in the clear", path)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Listing works without the key; reading data does not.
	if code, out, _ := run(t, ctx, append([]string{"snapshots"}, common...)...); code != 0 || !strings.Contains(out, src.PoolID) {
		t.Fatalf("snapshots without a key: exit %d %s", code, out)
	}
	// Without the key nothing can be checked: exit 2, never "damaged" and
	// never advice to forget or prune what may be whole.
	code, out, errOut := run(t, ctx, append([]string{"verify"}, common...)...)
	if code != 2 || !strings.Contains(errOut, "cannot check: the repository is encrypted; give --age-identity") ||
		strings.Contains(out+errOut, "DAMAGED") || strings.Contains(out+errOut, "forget") {
		t.Fatalf("verify without a key: exit %d, want 2 and no damage\n%s\n%s", code, out, errOut)
	}
	withKey := append([]string{"--age-identity", keyFile}, common...)
	if code, out, errOut := run(t, ctx, append([]string{"verify"}, withKey...)...); code != 0 {
		t.Fatalf("verify with the key: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := run(t, ctx, append([]string{"diff", "latest", "--pool", src.PoolID}, withKey...)...); code != 0 {
		t.Fatalf("diff with the key: exit %d\n%s", code, out)
	}
	tgt, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 5})
	code, out, errOut = run(t, ctx, append([]string{"restore", "--to", tgt.PoolID, "--state-file", dir + "/state", "--mapping-file", dir + "/subs"}, withKey...)...)
	if code != 0 && code != 3 {
		t.Fatalf("restore with the key: exit %d\n%s\n%s", code, out, errOut)
	}
	if srv.OpStats("AdminCreateUser").Succeeded() == 0 {
		t.Fatal("restore created no user")
	}
	t.Setenv("COGVAULT_AGE_IDENTITY", keyFile)
	if code, _, _ := run(t, ctx, append([]string{"verify"}, common...)...); code != 0 {
		t.Fatal("COGVAULT_AGE_IDENTITY is not honoured")
	}
}
