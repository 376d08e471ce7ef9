package restore

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"pgregory.net/rapid"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// Every value importValue accepts arrives exactly, through a real import
// job on the fake (its reader follows the developer guide's rules).
func TestImportValuesSurviveTheFakesImporter(t *testing.T) {
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	pool, _ := srv.Populate(cognitotest.PopulateOptions{})
	api := cip.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: awsx.BufferBodies(awshttp.NewBuildableClient()), Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	hdr, err := api.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &pool.PoolID})
	if err != nil {
		t.Fatal(err)
	}
	io_ := ImportOptions{RoleArn: "arn:aws:iam::123456789012:role/import", PollInterval: 5 * time.Millisecond, HTTPClient: http.DefaultClient, TempDir: t.TempDir()}
	st, err := openState(t.TempDir()+"/state", pool.PoolID, "snap")
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	r := &run{opts: Options{Target: pool.PoolID}, tg: &target{name: "cogvault-fake"}, st: st, rep: &Report{}}
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		v := rapid.StringOfN(rapid.SampledFrom([]rune{'a', ',', ' ', '"', '\'', '=', 'é', '東', '|', ';'}), 1, 40, -1).Draw(rt, "value")
		n++
		u := snapshot.User{Username: "imp-" + strconv.Itoa(n), Sub: "s", Status: "CONFIRMED",
			Attributes: []snapshot.Attribute{{Name: "email", Value: "i" + strconv.Itoa(n) + "@example.com"}, {Name: "email_verified", Value: "true"}, {Name: "custom:notes", Value: v}}}
		row, why := importRow(u, u.Username, hdr.CSVHeader, "", importRules{autoVerified: []string{"email", "phone_number"}, mfaMode: "OFF"})
		if why != "" {
			if strings.TrimSpace(v) == v {
				rt.Fatalf("value %q refused: %s", v, why)
			}
			return // surrounding whitespace: the importer would trim it
		}
		part, err := newImportPart(io_.TempDir, hdr.CSVHeader)
		if err != nil {
			rt.Fatal(err)
		}
		if err := part.add(u.Username, row); err != nil {
			rt.Fatal(err)
		}
		if err := r.runImportJob(ctx, api, io_, part); err != nil {
			rt.Fatal(err)
		}
		g, err := api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool.PoolID, Username: &u.Username})
		if err != nil {
			rt.Fatalf("user with value %q not imported: %v (log %q)", v, err, srv.ImportJobLog(""))
		}
		if got, _ := cognito.Attr(g.UserAttributes, "custom:notes"); got != v {
			rt.Fatalf("value %q arrived as %q", v, got)
		}
	})
}
